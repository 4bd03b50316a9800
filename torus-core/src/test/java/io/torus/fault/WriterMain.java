package io.torus.fault;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeLockedException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A writer of the fault suite in its own JVM: a client-only node that opens the volume for
 * writing through the Java API and runs the commands it reads, one at a time, in order.
 *
 * <p>Arguments: etcd endpoints (comma-separated), etcd prefix, volume name, writer id, open
 * timeout in seconds. It retries opening while the volume is locked (a previous writer's lease
 * has not yet expired) or etcd does not answer, then prints {@code OPEN <volumeId> <blockSize>}
 * or {@code OPENFAIL <reason>}.
 *
 * <pre>
 * stdin                          stdout
 * W &lt;op&gt; &lt;block&gt; &lt;fua 0|1&gt;   OK &lt;op&gt; &lt;startNanos&gt;
 *                                or FAIL &lt;op&gt; &lt;startNanos&gt; &lt;Class&gt;: msg
 * F &lt;op&gt;                       (same)
 * X                             exits at once, without closing (like a crash)
 *                                FENCED &lt;Class&gt;: msg (any time, once: the NBD writer's
 *                                node fenced the volume; its NBD replies carry only errno)
 * </pre>
 * {@code startNanos} is this process's {@link System#nanoTime()} when it began the operation
 * (the same monotonic clock as the driver's on Linux). Java API writes have no FUA: with
 * {@code fua 1} the write is followed by a flush, as NBD servers do.
 *
 * <p>The writer's node uses a {@link #LEASE_TTL} etcd lease (not the 10 s default), so a
 * takeover of a dead or paused writer takes seconds.
 */
public final class WriterMain {
  /** The etcd lease TTL of every writer's node (Java and NBD writers). */
  public static final Duration LEASE_TTL = Duration.ofSeconds(3);

  private WriterMain() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    BlockVolume v = openOrHalt(args, out);
    run(v, Integer.parseInt(args[3]), out);
    Runtime.getRuntime().halt(0);
  }

  /**
   * Opens the volume named by {@code args} (the arguments above) for writing, retrying while
   * it is locked or etcd does not answer, and prints {@code OPEN <volumeId> <blockSize>}; or
   * prints {@code OPENFAIL <reason>} and halts. Shared with the long run's NBD writer.
   */
  public static BlockVolume openOrHalt(String[] args, PrintStream out)
      throws InterruptedException {
    List<String> etcd = List.of(args[0].split(","));
    String prefix = args[1];
    String name = args[2];
    long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[4])).toNanos();
    Torus t = null;
    BlockVolume v = null;
    String last = "timed out";
    while (v == null && System.nanoTime() < deadline) {
      try {
        if (t == null) {
          t = Torus.builder().etcd(etcd).etcdPrefix(prefix).peer(false)
              .ioTimeout(Duration.ofSeconds(3)).peerTimeout(Duration.ofSeconds(2))
              .leaseTtl(LEASE_TTL).build();
        }
        v = t.openVolume(name);
      } catch (VolumeLockedException e) {
        last = e.toString();
        Thread.sleep(250);
      } catch (RuntimeException e) {
        last = e.toString();
        Thread.sleep(500);
      }
    }
    if (v == null) {
      out.println("OPENFAIL " + last.replace('\n', ' '));
      out.flush();
      Runtime.getRuntime().halt(3);
    }
    out.println("OPEN " + v.id() + " " + v.blockSize());
    out.flush();
    return v;
  }

  private static void run(BlockVolume v, int writer, PrintStream out) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
        StandardCharsets.UTF_8));
    int bs = v.blockSize();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] f = line.split(" ");
      if (f[0].equals("X")) {
        return;
      }
      long op = Long.parseLong(f[1]);
      long start = System.nanoTime();
      try {
        if (f[0].equals("W")) {
          int block = Integer.parseInt(f[2]);
          v.write((long) block * bs, ByteBuffer.wrap(
              Payload.encode(bs, v.id(), block, writer, op)));
          if (f[3].equals("1")) {
            v.flush();
          }
        } else {
          v.flush();
        }
        out.println("OK " + op + " " + start);
      } catch (RuntimeException e) {
        String msg = String.valueOf(e.getMessage()).replace('\n', ' ');
        out.println("FAIL " + op + " " + start + " " + e.getClass().getSimpleName() + ": "
            + msg.substring(0, Math.min(800, msg.length())));
      }
      out.flush();
    }
  }
}
