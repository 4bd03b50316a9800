package io.torus;

/** No healthy copy of a block could be read. */
public class BlockUnavailableException extends TorusException {
  private static final long serialVersionUID = 1L;

  public BlockUnavailableException(String message) {
    super(ErrorCode.EIO, message);
  }

  public BlockUnavailableException(String message, Throwable cause) {
    super(ErrorCode.EIO, message, cause);
  }
}
