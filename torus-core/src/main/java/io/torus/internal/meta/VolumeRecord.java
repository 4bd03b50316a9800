package io.torus.internal.meta;

import io.torus.BlockRef;
import io.torus.VolumeInfo;
import io.torus.spi.Head;
import java.time.Instant;
import java.util.Objects;

/**
 * Everything the metadata services store for one volume: its description and its head.
 *
 * @param id the volume id, {@code >= 1}, never reused
 * @param name the volume name (valid per {@link io.torus.VolumeSpec#checkName})
 * @param size bytes
 * @param blockSize bytes
 * @param replication copies of each block
 * @param created creation time
 * @param root the head's root, or {@code null} for an all-holes volume
 * @param generation the head's generation
 * @param revision the head's compare-and-swap token
 */
record VolumeRecord(long id, String name, long size, int blockSize, int replication,
    Instant created, BlockRef root, long generation, long revision) {

  VolumeRecord {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(created, "created");
  }

  /** The public description of the volume. */
  VolumeInfo info() {
    return new VolumeInfo(id, name, size, blockSize, replication, created);
  }

  /** The volume's head. */
  Head head() {
    return new Head(id, root, generation, revision);
  }

  /** This record with a new size. */
  VolumeRecord withSize(long newSize) {
    return new VolumeRecord(id, name, newSize, blockSize, replication, created, root,
        generation, revision);
  }

  /** This record with a new head. */
  VolumeRecord withHead(BlockRef newRoot, long newGeneration, long newRevision) {
    return new VolumeRecord(id, name, size, blockSize, replication, created, newRoot,
        newGeneration, newRevision);
  }
}
