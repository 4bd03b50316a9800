package io.torus;

/** This writer was fenced: its lease expired or a newer writer took the volume. Every later write and flush fails; reopen the volume to continue. */
public class LeaseLostException extends TorusException {
  private static final long serialVersionUID = 1L;

  public LeaseLostException(String message) {
    super(ErrorCode.ESHUTDOWN, message);
  }

  public LeaseLostException(String message, Throwable cause) {
    super(ErrorCode.ESHUTDOWN, message, cause);
  }
}
