package io.torus;

/** The volume's head changed underneath this writer; the commit was refused and the volume is fenced. */
public class ConcurrentModificationException extends TorusException {
  private static final long serialVersionUID = 1L;

  public ConcurrentModificationException(String message) {
    super(ErrorCode.EIO, message);
  }

  public ConcurrentModificationException(String message, Throwable cause) {
    super(ErrorCode.EIO, message, cause);
  }
}
