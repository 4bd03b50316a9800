package io.torus;

/**
 * A put named a ref the store already holds, with a valid stored copy whose content differs
 * from the bytes given. Refs name one byte string forever, so this means two writers used the
 * same ref for different data (or one copy was damaged before its checksum was computed);
 * the store keeps its copy and stores nothing. Never retryable. {@link ErrorCode#EIO}.
 */
public class RefConflictException extends CorruptBlockException {
  private static final long serialVersionUID = 1L;

  public RefConflictException(String message) {
    super(message);
  }
}
