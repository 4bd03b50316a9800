package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real child JVM writes and flushes a file-backed volume and is killed with SIGKILL at a
 * random moment, possibly inside a flush. The reopened volume must equal the workload's
 * content at the last flush the child reported, or at the one after it (which may have
 * committed just before the kill, unreported). Repeated on the same data directory.
 */
class VolumeCrashIT {
  @TempDir
  Path dir;

  @Test
  void killDashNineLosesNothingFlushed() throws Exception {
    long base = System.nanoTime();
    System.out.println("VolumeCrashIT seed " + base);
    Random rnd = new Random(base);
    try (Torus t = Torus.builder().dataDirectory(dir).storeCapacity(256L << 20).build()) {
      t.createVolume(VolumeSpec.builder("crash", CrashWorkload.SIZE)
          .blockSize(CrashWorkload.BLOCK_SIZE).replication(1).build());
    }
    byte[] model = new byte[(int) CrashWorkload.SIZE];
    for (int round = 0; round < 6; round++) {
      long seed = base + round;
      List<String> lines = runAndKill(seed, 150 + rnd.nextInt(1200));
      int flushed = 0;
      for (String l : lines) {
        if (l.startsWith("FLUSHED ")) {
          flushed = Integer.parseInt(l.substring(8));
        }
      }
      byte[] atLast = model.clone();
      CrashWorkload.replay(seed, flushed, atLast);
      byte[] atNext = model.clone();
      CrashWorkload.replay(seed, CrashWorkload.nextFlush(seed, flushed) + 1, atNext);
      byte[] actual = new byte[model.length];
      try (Torus t = Torus.builder().dataDirectory(dir).storeCapacity(256L << 20).build();
          BlockVolume v = t.openVolumeReadOnly("crash")) {
        v.read(0, ByteBuffer.wrap(actual));
      }
      boolean last = Arrays.equals(actual, atLast);
      assertThat(last || Arrays.equals(actual, atNext))
          .as("round %d seed %d: content after kill at step %d matches a flush", round, seed,
              flushed)
          .isTrue();
      model = last ? atLast : atNext;
      System.out.printf("round %d: %d steps flushed, matched %s flush%n", round, flushed,
          last ? "the last reported" : "the next");
    }
  }

  private List<String> runAndKill(long seed, long killAfterMillis) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), CrashChild.class.getName(), dir.toString(),
        Long.toString(seed));
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String first = out.readLine();
      assertThat(first).as("child started").isEqualTo("READY");
      Thread.sleep(killAfterMillis);
      p.toHandle().destroyForcibly(); // SIGKILL; unlike Process.destroy, keeps stdout open
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
}
