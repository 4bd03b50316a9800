package io.torus.spi;

import io.torus.VolumeSpec;

/**
 * Where a clone came from: the volume and snapshot whose root was its first head. Recorded
 * for information only; the origin may have been deleted since (a clone does not depend on
 * it, see {@link MetadataService#createClone}).
 *
 * @param volumeId the origin volume's id
 * @param volumeName the origin volume's name when the clone was made
 * @param snapshot the origin snapshot's name
 */
public record CloneOrigin(long volumeId, String volumeName, String snapshot) {
  /** Validates the names; throws {@link io.torus.TorusException} (EINVAL). */
  public CloneOrigin {
    VolumeSpec.checkName(volumeName);
    Snapshot.checkName(snapshot);
  }
}
