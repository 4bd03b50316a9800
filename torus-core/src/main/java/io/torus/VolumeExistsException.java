package io.torus;

/** A volume with this name already exists. */
public class VolumeExistsException extends TorusException {
  private static final long serialVersionUID = 1L;

  public VolumeExistsException(String message) {
    super(ErrorCode.EINVAL, message);
  }

  public VolumeExistsException(String message, Throwable cause) {
    super(ErrorCode.EINVAL, message, cause);
  }
}
