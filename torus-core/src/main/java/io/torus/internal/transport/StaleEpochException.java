package io.torus.internal.transport;

import io.torus.ErrorCode;
import io.torus.LeaseLostException;

/**
 * A peer refused a put because it has seen a newer writer (a higher fencing epoch) for the
 * volume: the sender is a stale writer, fenced like one whose lease was lost
 * ({@link ErrorCode#ESHUTDOWN}, not retryable).
 */
public final class StaleEpochException extends LeaseLostException {
  private static final long serialVersionUID = 1L;

  public StaleEpochException(String message) {
    super(message);
  }
}
