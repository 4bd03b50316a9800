package io.torus.internal.volume;

import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
import io.torus.TorusException;

/**
 * Whether an open volume handle may still be used: open, closing or closed, read-only, and
 * fenced (a refused commit or a lost lease: every later write and flush fails with the first
 * cause). Holds the checks every operation starts with and the errors they throw.
 *
 * <p><b>Concurrency.</b> The fields are volatile. {@code closing} and {@code closed} are set
 * only under the write side of the phase lock ({@link DirtyBuffer#exclusive}, from
 * {@link VolumeEngine#close}) and writers check them under its read side, so no write is
 * running once closing is set and none starts after. {@code fenced} is set from any thread;
 * the first cause wins.
 */
final class Lifecycle {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);

  private final String volume;
  private final boolean readOnly;
  private volatile TorusException fenced;
  private static final java.util.concurrent.atomic.AtomicReferenceFieldUpdater<Lifecycle,
      TorusException> FENCED = java.util.concurrent.atomic.AtomicReferenceFieldUpdater
          .newUpdater(Lifecycle.class, TorusException.class, "fenced");
  private volatile boolean closing;
  private volatile boolean closed;

  /** The lifecycle of a handle of {@code volume} (read-only if it holds no writer lock). */
  Lifecycle(String volume, boolean readOnly) {
    this.volume = volume;
    this.readOnly = readOnly;
  }

  /**
   * Fences the volume: every later write and flush fails with {@code cause}. Idempotent; the
   * first cause wins.
   */
  void fence(TorusException cause) {
    if (FENCED.compareAndSet(this, null, cause)) { // the first cause wins, also in a race
      log.warn("volume '{}' is fenced: every later write and flush fails: {}", volume,
          cause.toString());
    }
  }

  /** The volume's name, for messages. */
  String volume() {
    return volume;
  }

  /** Whether the handle is closing or closed. */
  boolean isClosing() {
    return closing;
  }

  /** The cause the volume was fenced with, or null. */
  TorusException fenced() {
    return fenced;
  }

  boolean isClosed() {
    return closed;
  }

  /** Marks the handle closing; false if it already was. Under the phase write lock. */
  boolean startClosing() {
    if (closing) {
      return false;
    }
    closing = true;
    return true;
  }

  /** Marks the handle closed. Under the phase write lock. */
  void markClosed() {
    closed = true;
  }

  void checkOpen() {
    if (closed) {
      throw closedError();
    }
  }

  /** For a write: open, not closing, writable and not fenced. */
  void checkWritable() {
    if (closing) {
      throw closedError();
    }
    checkCommittable();
  }

  /** For a flush (which close runs too): open, writable and not fenced. */
  void checkCommittable() {
    if (closed) {
      throw closedError();
    }
    if (readOnly) {
      throw new TorusException(ErrorCode.EPERM, "volume '" + volume + "' is open read-only");
    }
    TorusException f = fenced;
    if (f != null) {
      throw fencedError(f);
    }
  }

  /** The error a fenced volume fails with: the cause's kind, naming the volume. */
  TorusException fencedError(TorusException cause) {
    String msg = "volume '" + volume + "' is fenced: " + cause.getMessage();
    return cause instanceof ConcurrentUpdateException
        ? new ConcurrentUpdateException(msg, cause)
        : new LeaseLostException(msg, cause);
  }

  TorusClosedException closedError() {
    return new TorusClosedException("volume '" + volume + "' is closed");
  }
}
