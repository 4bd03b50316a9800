package io.torus.spi;

import io.torus.TorusException;
import io.torus.VolumeSpec;
import java.time.Instant;
import java.util.Objects;

/**
 * A named, frozen head of a volume: what the volume held at the commit it was taken from.
 * Everything it points to is immutable, so a snapshot costs one metadata record.
 *
 * @param volumeId the volume it belongs to
 * @param volumeName that volume's name
 * @param name the snapshot's name (same rules as volume names); shown as {@code VOL@SNAP}
 * @param root the block map's root at that commit, or {@code null} if the volume was all holes
 * @param generation the head's generation at that commit: every block reachable from
 *     {@code root} has this generation or a lower one
 * @param size the volume's size in bytes when the snapshot was taken
 * @param created when the snapshot was taken
 */
public record Snapshot(long volumeId, String volumeName, String name, BlockRef root,
    long generation, long size, Instant created) {

  /** Validates the names; throws {@link TorusException} (EINVAL). */
  public Snapshot {
    VolumeSpec.checkName(volumeName);
    checkName(name);
    Objects.requireNonNull(created, "created");
    if (generation < 0) {
      throw TorusException.invalid("snapshot generation must be >= 0: " + generation);
    }
  }

  /**
   * Throws {@link TorusException} (EINVAL) unless {@code name} is a valid snapshot name: the
   * rules of volume names (1 to 128 of {@code [A-Za-z0-9._-]}, not starting with '.' or
   * '-').
   */
  public static String checkName(String name) {
    try {
      return VolumeSpec.checkName(name);
    } catch (TorusException e) {
      throw TorusException.invalid("bad snapshot name (1-128 of [A-Za-z0-9._-], not starting"
          + " with '.' or '-'): " + (name == null ? "null" : "'" + name + "'"));
    }
  }

  /** {@code VOL@SNAP}, the command-line form. */
  public String fullName() {
    return volumeName + "@" + name;
  }
}
