package io.torus.internal.volume;

import java.util.Random;

/**
 * A deterministic stream of writes and flushes, generated from a seed, that a child JVM
 * performs and the parent replays to know what the volume must hold at each flush.
 */
final class CrashWorkload {
  static final int BLOCK_SIZE = 16384;
  static final long SIZE = 64L * BLOCK_SIZE + 4096;

  /** One step: a flush, or a write of {@code data} at {@code offset}. */
  record Step(boolean flush, long offset, byte[] data) {}

  private final Random rnd;

  CrashWorkload(long seed) {
    this.rnd = new Random(seed);
  }

  Step next() {
    if (rnd.nextInt(8) == 0) {
      return new Step(true, 0, null);
    }
    long offset = (long) (rnd.nextDouble() * SIZE);
    int len = (int) Math.min(SIZE - offset, 1 + rnd.nextInt(3 * BLOCK_SIZE));
    byte[] data = new byte[len];
    rnd.nextBytes(data);
    return new Step(false, offset, data);
  }

  /** Applies steps {@code [0, count)} to {@code model}. */
  static void replay(long seed, int count, byte[] model) {
    CrashWorkload w = new CrashWorkload(seed);
    for (int i = 0; i < count; i++) {
      Step s = w.next();
      if (!s.flush()) {
        System.arraycopy(s.data(), 0, model, (int) s.offset(), s.data().length);
      }
    }
  }

  /** Index of the first flush step at or after {@code from}. */
  static int nextFlush(long seed, int from) {
    CrashWorkload w = new CrashWorkload(seed);
    for (int i = 0; ; i++) {
      if (w.next().flush() && i >= from) {
        return i;
      }
    }
  }
}
