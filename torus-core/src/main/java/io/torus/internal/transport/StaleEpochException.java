package io.torus.internal.transport;

import io.torus.ErrorCode;
import io.torus.TorusException;

/**
 * A peer refused a put because it has seen a newer writer (a higher fencing epoch) for the
 * volume: the sender is a stale writer. Not retryable ({@link ErrorCode#EPERM}).
 */
public final class StaleEpochException extends TorusException {
  private static final long serialVersionUID = 1L;

  public StaleEpochException(String message) {
    super(ErrorCode.EPERM, message);
  }
}
