package io.torus;

/** A stored block failed its checksum or does not belong to the ref asked for; it is never returned as data. */
public class CorruptBlockException extends TorusException {
  private static final long serialVersionUID = 1L;

  public CorruptBlockException(String message) {
    super(ErrorCode.EIO, message);
  }

  public CorruptBlockException(String message, Throwable cause) {
    super(ErrorCode.EIO, message, cause);
  }
}
