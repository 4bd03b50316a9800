package io.torus;

import java.time.Instant;

/**
 * What the cluster knows of a volume.
 *
 * @param id the volume's id, unique in the cluster and never reused
 * @param name the volume's name
 * @param size size in bytes
 * @param blockSize block size in bytes
 * @param replication number of copies of each block; of an erasure-coded volume, of each map
 *     node and of the head ({@link Erasure#mapCopies()})
 * @param created when the volume was created
 * @param encryption the volume's wrapped data keys if it is encrypted, else null
 * @param erasure the erasure-coding policy of its data blocks, or null if they are replicated
 * @param qos its I/O limits, {@link VolumeQos#UNLIMITED} for none (null is taken as that)
 */
public record VolumeInfo(long id, String name, long size, int blockSize, int replication,
    Instant created, VolumeKeys encryption, Erasure erasure, VolumeQos qos) {

  public VolumeInfo {
    if (qos == null) {
      qos = VolumeQos.UNLIMITED;
    }
  }

  /** A volume that is neither encrypted nor erasure-coded, without I/O limits. */
  public VolumeInfo(long id, String name, long size, int blockSize, int replication,
      Instant created) {
    this(id, name, size, blockSize, replication, created, null, null, null);
  }

  /** A volume that is not erasure-coded, without I/O limits. */
  public VolumeInfo(long id, String name, long size, int blockSize, int replication,
      Instant created, VolumeKeys encryption) {
    this(id, name, size, blockSize, replication, created, encryption, null, null);
  }

  /** A volume without I/O limits. */
  public VolumeInfo(long id, String name, long size, int blockSize, int replication,
      Instant created, VolumeKeys encryption, Erasure erasure) {
    this(id, name, size, blockSize, replication, created, encryption, erasure, null);
  }

  /** Whether the volume is encrypted. */
  public boolean encrypted() {
    return encryption != null;
  }

  /** Whether the volume's data blocks are erasure-coded ({@link #erasure()} is not null). */
  public boolean erasureCoded() {
    return erasure != null;
  }

  /** This description with {@code size} and {@code replication}, the rest unchanged. */
  public VolumeInfo with(long newSize, int newReplication) {
    return new VolumeInfo(id, name, newSize, blockSize, newReplication, created, encryption,
        erasure, qos);
  }

  /** This description with I/O limits {@code newQos}, the rest unchanged. */
  public VolumeInfo withQos(VolumeQos newQos) {
    return new VolumeInfo(id, name, size, blockSize, replication, created, encryption,
        erasure, newQos);
  }
}
