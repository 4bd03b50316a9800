package io.torus;

/** The volume's head changed underneath this writer; the commit was refused and the volume is fenced. */
public class ConcurrentUpdateException extends TorusException {
  private static final long serialVersionUID = 1L;

  public ConcurrentUpdateException(String message) {
    super(ErrorCode.EIO, message);
  }

  public ConcurrentUpdateException(String message, Throwable cause) {
    super(ErrorCode.EIO, message, cause);
  }
}
