package io.torus.internal.meta;

import io.torus.TorusException;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;

/**
 * The rules of writer locks and head commits that every metadata service applies the same
 * way: which arguments a commit accepts, where a lock and a commit move a head's generations
 * (see {@link Head}), and what a lock holder's name may be. Pure and thread-safe.
 *
 * <p>{@link LocalMetadataService} keeps package-private copies of the same rules; the two
 * must agree.
 */
public final class LockRules {
  private LockRules() {}

  /**
   * Validates a commit's arguments.
   *
   * @throws TorusException EINVAL if {@code expected} is another volume's head, or
   *     {@code generation} is not above its generation and at most its reservation
   */
  public static void checkCommit(VolumeLock lock, Head expected, BlockRef root,
      long generation) {
    if (expected.volumeId() != lock.volumeId()) {
      throw TorusException.invalid("head of volume " + expected.volumeId()
          + " does not belong to the lock of volume " + lock.volumeId());
    }
    if (generation <= expected.generation()) {
      throw TorusException.invalid("new generation " + generation
          + " must be greater than the expected head's " + expected.generation());
    }
    if (generation > expected.reserved()) {
      throw TorusException.invalid("new generation " + generation
          + " is past the generations reserved for the writer (" + expected.reserved() + ")");
    }
  }

  /**
   * The generation a new writer lock moves a head to: everything an earlier writer may have
   * written (up to its reservation) is then at or below it.
   */
  public static long lockedGeneration(Head h) {
    return Math.max(h.generation(), h.reserved()) + 1;
  }

  /** The reservation of a head committed at {@code generation}. */
  public static long committedReservation(Head expected, long generation) {
    return Math.max(expected.reserved(), generation + Head.RESERVATION);
  }

  /**
   * Validates a lock holder (or election candidate) name: 1 to 1024 characters, not blank.
   *
   * @return {@code holder}
   * @throws TorusException EINVAL naming the bad value
   */
  public static String checkHolder(String holder) {
    if (holder == null || holder.isBlank() || holder.length() > 1024) {
      throw TorusException.invalid("lock holder must be 1 to 1024 characters, not blank: "
          + (holder == null ? "null" : "'" + holder + "'"));
    }
    return holder;
  }
}
