package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The stale writer, end to end: writer A (a child JVM) is frozen with SIGSTOP past its lease;
 * writer B takes the volume, writes and flushes; A is resumed. A's next flush and writes fail,
 * none of A's unflushed data ever appears, and B's data is intact — across real peer
 * processes, which also refuse A's blocks by their fencing epoch.
 */
class StaleWriterIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int BLOCKS = 8;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void frozenWriterCanNeverCommitOverTheNewOne() throws Exception {
    String prefix = "/stale";
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 2);
        Torus b = Torus.builder().etcd(ETCD.endpoints()).etcdPrefix(prefix).peer(false)
            .ioTimeout(Duration.ofSeconds(10)).build()) {
      b.createVolume(VolumeSpec.builder("v", 16L << 20).replication(2).build());
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process a = new ProcessBuilder(java, "-Xmx256m", "-cp",
          System.getProperty("java.class.path"), StaleWriterMain.class.getName(),
          ETCD.endpoint(0), prefix, Integer.toString(BLOCKS))
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(a.getInputStream(),
            StandardCharsets.UTF_8));
        PrintWriter in = new PrintWriter(a.getOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(out.readLine()).isEqualTo("FLUSHED");
        assertThat(out.readLine()).isEqualTo("WROTE");
        signal(a, "STOP");
        int bs;
        try (BlockVolume v = openWhenFree(b)) { // after A's lease expired
          bs = v.blockSize();
          byte[] cc = new byte[BLOCKS / 2 * bs];
          Arrays.fill(cc, (byte) 0xCC);
          v.write(0, ByteBuffer.wrap(cc));
          v.flush();
        }
        signal(a, "CONT");
        in.println("FLUSH");
        String fenced = "(LeaseLostException|StaleEpochException|ConcurrentUpdateException)";
        String first = out.readLine();
        System.out.println("writer A after resume: " + first);
        assertThat(first).matches("FAILED FLUSH " + fenced);
        in.println("WRITE");
        assertThat(out.readLine()).matches("FAILED WRITE " + fenced);
        in.println("FLUSH");
        assertThat(out.readLine()).matches("FAILED FLUSH " + fenced);
        in.println("EXIT");
        assertThat(a.waitFor(30, TimeUnit.SECONDS)).isTrue();

        try (BlockVolume v = b.openVolumeReadOnly("v")) {
          ByteBuffer all = ByteBuffer.allocate(BLOCKS * bs);
          v.read(0, all);
          byte[] got = all.array();
          for (int i = 0; i < got.length; i++) {
            byte want = i < BLOCKS / 2 * bs ? (byte) 0xCC : (byte) 0xAA;
            if (got[i] != want) {
              throw new AssertionError("byte " + i + ": " + Integer.toHexString(got[i] & 0xff)
                  + ", want " + Integer.toHexString(want & 0xff)
                  + " (B's data, then A's last flushed data; never A's unflushed 0xbb)");
            }
          }
        }
      } finally {
        if (a.isAlive()) {
          signal(a, "CONT");
        }
        a.destroyForcibly();
        a.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static BlockVolume openWhenFree(Torus b) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        return b.openVolume("v");
      } catch (VolumeLockedException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

  private static void signal(Process p, String sig) throws Exception {
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start();
    assertThat(k.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(k.exitValue()).isZero();
  }

}
