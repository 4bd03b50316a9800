package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.VolumeSpec;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a process whose four threads commit heads of four volumes in a loop (a
 * small log bound, so checkpoints happen too): after a restart every commit that returned is
 * there, and revisions and generations never go back.
 */
class LocalMetadataCrashIT {
  private static final int VOLUMES = 4;
  private static final long LOG_BOUND = HeadLog.HEADER_SIZE + 200L * HeadChange.SIZE;

  @TempDir Path dir;

  @Test
  void killDashNineKeepsEveryCommitThatReturned() throws Exception {
    long seed = System.nanoTime();
    System.out.println("LocalMetadataCrashIT seed " + seed);
    Random rnd = new Random(seed);
    Map<Long, long[]> reported = new HashMap<>(); // volume -> {revision, generation}
    for (int round = 0; round < 5; round++) {
      List<String> lines = runAndKill(300 + rnd.nextInt(900));
      int commits = 0;
      for (String l : lines) {
        String[] f = l.split(" ");
        if (f.length == 4 && f[0].equals("COMMITTED")) {
          reported.put(Long.parseLong(f[1]),
              new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
          commits++;
        }
      }
      assertThat(commits).as("round %d: the child committed", round).isPositive();
      try (LocalMetadataService meta = LocalMetadataService.open(dir)) {
        for (Map.Entry<Long, long[]> e : reported.entrySet()) {
          Head h = meta.head(e.getKey());
          assertThat(h.revision()).as("round %d volume %d", round, e.getKey())
              .isGreaterThanOrEqualTo(e.getValue()[0]);
          assertThat(h.generation()).isGreaterThanOrEqualTo(e.getValue()[1]);
        }
      }
      System.out.printf("round %d: %d commits returned, all kept%n", round, commits);
    }
  }

  private List<String> runAndKill(long killAfterMillis) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp",
        System.getProperty("java.class.path"), Child.class.getName(), dir.toString());
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      assertThat(out.readLine()).as("child started").isEqualTo("READY");
      Thread.sleep(killAfterMillis);
      p.toHandle().destroyForcibly(); // SIGKILL
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      for (String l = out.readLine(); l != null; l = out.readLine()) {
        lines.add(l);
      }
    } finally {
      p.destroyForcibly();
    }
    assertThat(p.exitValue()).as("killed, not exited").isNotZero();
    return lines;
  }

  /** The child: commits until killed, printing each commit after it returned. */
  public static final class Child {
    public static void main(String[] args) throws Exception {
      LocalMetadataService meta =
          LocalMetadataService.open(Path.of(args[0]), Clock.systemUTC(), LOG_BOUND);
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < VOLUMES; i++) {
        String name = "v" + i;
        long id = meta.volume(name).orElseGet(() -> meta.createVolume(
            VolumeSpec.builder(name, 1 << 20).replication(1).build())).id();
        VolumeLock lock = meta.lockVolume(id, "child");
        threads.add(new Thread(() -> {
          Head h = lock.head();
          while (true) {
            long gen = h.generation() + 1;
            h = meta.commitHead(lock, h, new BlockRef(id, gen, 0, BlockKind.MAP), gen);
            synchronized (out) {
              out.println("COMMITTED " + id + " " + h.revision() + " " + h.generation());
            }
          }
        }));
      }
      out.println("READY");
      threads.forEach(Thread::start);
      for (Thread t : threads) {
        t.join();
      }
    }
  }
}
