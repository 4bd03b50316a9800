package io.torus;

import java.time.Instant;

/**
 * A frozen view of a volume: its content at the flush the snapshot was taken from.
 *
 * @param volume the volume's name
 * @param name the snapshot's name (same rules as volume names)
 * @param size the volume's size when the snapshot was taken, bytes
 * @param created when it was taken
 */
public record SnapshotInfo(String volume, String name, long size, Instant created) {

  /** {@code VOL@SNAP}, as the command line writes it. */
  public String fullName() {
    return volume + "@" + name;
  }
}
