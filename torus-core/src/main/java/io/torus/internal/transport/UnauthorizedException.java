package io.torus.internal.transport;

import io.torus.ErrorCode;
import io.torus.TorusException;

/**
 * A peer refused a destructive request that carried neither the cluster token nor a fencing
 * epoch it accepts for the volume ({@link ErrorCode#EPERM}, not retryable).
 */
public final class UnauthorizedException extends TorusException {
  private static final long serialVersionUID = 1L;

  public UnauthorizedException(String message) {
    super(ErrorCode.EPERM, message);
  }
}
