package io.torus.internal.meta;

import io.torus.TorusException;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;

/**
 * The rules of heads, locks and generations that every metadata service applies the same way
 * (see {@link Head} for the generation reservation): what a new lock moves a head to, what a
 * commit may name, what it reserves. Stateless.
 */
public final class HeadRules {
  private HeadRules() {}

  /** Validates a commit's arguments. */
  public static void checkCommit(VolumeLock lock, Head expected, BlockRef root, long generation) {
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

  /** Validates a lock holder name. */
  public static String checkHolder(String holder) {
    if (holder == null || holder.isBlank() || holder.length() > 1024) {
      throw TorusException.invalid("lock holder must be 1 to 1024 characters, not blank: "
          + (holder == null ? "null" : "'" + holder + "'"));
    }
    return holder;
  }
}
