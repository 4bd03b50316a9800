package io.torus.internal.volume;

import io.torus.BlockVolume;
import io.torus.Torus;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The process {@link VolumeCrashIT} kills: runs a {@link CrashWorkload} against a volume in a
 * file-backed node and prints {@code FLUSHED n} after the flush that is step {@code n - 1}
 * returned (steps {@code [0, n)} are then durable).
 */
public final class CrashChild {
  private CrashChild() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    try (Torus torus = Torus.builder().dataDirectory(dir).storeCapacity(256L << 20)
        .dirtyBytes(4 * CrashWorkload.BLOCK_SIZE).build()) {
      BlockVolume v = torus.openVolume("crash");
      CrashWorkload w = new CrashWorkload(seed);
      System.out.println("READY");
      for (int i = 0; i < 1_000_000; i++) {
        CrashWorkload.Step s = w.next();
        if (s.flush()) {
          v.flush();
          System.out.println("FLUSHED " + (i + 1));
          System.out.flush();
        } else {
          v.write(s.offset(), ByteBuffer.wrap(s.data()));
        }
      }
    }
  }
}
