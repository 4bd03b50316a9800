package io.torus;

/** The volume is open for writing by another client; the message names the holder. */
public class VolumeLockedException extends TorusException {
  private static final long serialVersionUID = 1L;

  private final String holder;

  public VolumeLockedException(String volume, String holder) {
    super(ErrorCode.EPERM, "volume '" + volume + "' is locked for writing by " + holder);
    this.holder = holder;
  }

  /** Who holds the lock (node id and address), as the metadata service recorded it. */
  public String holder() {
    return holder;
  }
}
