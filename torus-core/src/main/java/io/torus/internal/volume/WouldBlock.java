package io.torus.internal.volume;

import java.util.concurrent.locks.Lock;

/**
 * Thrown inside a no-wait attempt ({@link ReadPath#readNow}, {@link DirtyBuffer#writeNow})
 * when going on would wait for a lock or for I/O; the attempt is then abandoned and the
 * operation runs on the volume's executor instead. Never leaves the volume package. One
 * shared instance without a stack trace: it is control flow, not an error.
 */
final class WouldBlock extends RuntimeException {
  private static final long serialVersionUID = 1L;
  static final WouldBlock INSTANCE = new WouldBlock();

  private WouldBlock() {
    super("would block", null, false, false);
  }

  /** Takes {@code l}; with {@code now}, only if it is free at once, else throws this. */
  static void lock(Lock l, boolean now) {
    if (!now) {
      l.lock();
    } else if (!l.tryLock()) {
      throw INSTANCE;
    }
  }
}
