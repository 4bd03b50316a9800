package io.torus;

/** The node or volume was closed; no further I/O is accepted. */
public class TorusClosedException extends TorusException {
  private static final long serialVersionUID = 1L;

  public TorusClosedException(String message) {
    super(ErrorCode.ESHUTDOWN, message);
  }

  public TorusClosedException(String message, Throwable cause) {
    super(ErrorCode.ESHUTDOWN, message, cause);
  }
}
