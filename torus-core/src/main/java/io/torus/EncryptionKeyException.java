package io.torus;

/**
 * A volume's data key could not be had: the volume is encrypted and this node has no key
 * provider for its key-encryption key, the key given is a different one, or the wrapped key
 * in the volume record does not unwrap. Nothing was read or written. Code
 * {@link ErrorCode#EPERM}.
 */
public class EncryptionKeyException extends TorusException {
  private static final long serialVersionUID = 1L;

  public EncryptionKeyException(String message) {
    super(ErrorCode.EPERM, message);
  }

  public EncryptionKeyException(String message, Throwable cause) {
    super(ErrorCode.EPERM, message, cause);
  }
}
