package io.torus.examples.cli;

import io.torus.spi.Snapshot;
import io.torus.VolumeSpec;

/**
 * A volume or one of its snapshots as the command line names it: {@code VOL} or
 * {@code VOL@SNAP}.
 *
 * @param volume the volume's name
 * @param snapshot the snapshot's name, or null for the volume itself
 */
record VolRef(String volume, String snapshot) {

  /** Parses {@code VOL} or {@code VOL@SNAP}; EINVAL for a bad name. */
  static VolRef parse(String text) {
    int at = text.indexOf('@');
    if (at < 0) {
      return new VolRef(VolumeSpec.checkName(text), null);
    }
    return new VolRef(VolumeSpec.checkName(text.substring(0, at)),
        Snapshot.checkName(text.substring(at + 1)));
  }

  /** Parses {@code VOL@SNAP}, refusing a plain volume name. */
  static VolRef parseSnapshot(String text) {
    VolRef r = parse(text);
    if (r.snapshot == null) {
      throw new IllegalArgumentException("expected VOLUME@SNAPSHOT, got '" + text + "'");
    }
    return r;
  }

  boolean isSnapshot() {
    return snapshot != null;
  }

  @Override
  public String toString() {
    return snapshot == null ? volume : volume + "@" + snapshot;
  }
}
