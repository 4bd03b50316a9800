package io.torus;

import java.util.Objects;

/**
 * The root of every error Torus reports. Unchecked; carries an {@link ErrorCode} and whether
 * retrying the same call may succeed. Subclasses exist only where callers branch on them.
 */
public class TorusException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final boolean retryable;

  public TorusException(ErrorCode code, String message) {
    this(code, message, null, false);
  }

  public TorusException(ErrorCode code, String message, Throwable cause) {
    this(code, message, cause, false);
  }

  public TorusException(ErrorCode code, String message, Throwable cause, boolean retryable) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
    this.retryable = retryable;
  }

  /** The error's code; never null. */
  public ErrorCode code() {
    return code;
  }

  /** Whether the same call may succeed if repeated (for example after a peer comes back). */
  public boolean isRetryable() {
    return retryable;
  }

  /** Shorthand for an {@link ErrorCode#EINVAL} error. */
  public static TorusException invalid(String message) {
    return new TorusException(ErrorCode.EINVAL, message);
  }

  /**
   * Returns {@code t} itself if it is a TorusException, the TorusException it wraps if it is a
   * {@link java.util.concurrent.CompletionException} or
   * {@link java.util.concurrent.ExecutionException}, else a new {@link ErrorCode#EIO} error
   * with {@code t} as its cause.
   */
  public static TorusException of(Throwable t) {
    Throwable cur = t;
    while ((cur instanceof java.util.concurrent.CompletionException
            || cur instanceof java.util.concurrent.ExecutionException)
        && cur.getCause() != null) {
      cur = cur.getCause();
    }
    if (cur instanceof TorusException) {
      return (TorusException) cur;
    }
    if (cur instanceof java.io.UncheckedIOException && cur.getCause() != null) {
      cur = cur.getCause();
    }
    String msg = cur.getMessage() == null ? cur.getClass().getSimpleName() : cur.getMessage();
    return new TorusException(ErrorCode.EIO, msg, cur);
  }
}
