package io.torus;

/** The named volume (or its id) does not exist. */
public class VolumeNotFoundException extends TorusException {
  private static final long serialVersionUID = 1L;

  public VolumeNotFoundException(String message) {
    super(ErrorCode.EINVAL, message);
  }

  public VolumeNotFoundException(String message, Throwable cause) {
    super(ErrorCode.EINVAL, message, cause);
  }
}
