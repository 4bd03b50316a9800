package io.torus.internal.volume;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The stripe locks of an open volume: each block index maps to one of {@value #STRIPES} locks.
 * The bytes of an in-memory dirty block are mutated only under its stripe lock, and a
 * superseded pending block is deleted only under it; a reader resolves and copies a dirty
 * block under the same lock, so it never sees either half-done. Thread-safe.
 */
final class Stripes {
  private static final int STRIPES = 256;

  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  Stripes() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** The stripe lock of block {@code index}. */
  ReentrantLock of(long index) {
    return locks[(int) ((index ^ (index >>> 8)) & (STRIPES - 1))];
  }
}
