package io.torus.internal.meta.local;

import io.torus.Erasure;
import io.torus.spi.BlockRef;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import io.torus.VolumeQos;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.Snapshot;
import java.time.Instant;
import java.util.Collections;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Everything the local metadata service stores for one volume: its description, its head,
 * where it was cloned from and its snapshots.
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
 * @param origin where the volume was cloned from, or {@code null}
 * @param snapshots its snapshots by name (unmodifiable, sorted)
 * @param reserved the highest generation reserved for writers, {@code >= generation}
 *     (see {@link Head})
 * @param encryption the wrapped data keys of an encrypted volume, else null
 * @param erasure the erasure-coding policy of an erasure-coded volume, else null
 * @param qos the volume's I/O limits ({@link VolumeQos#UNLIMITED}: none; null is taken as
 *     that)
 */
record VolumeRecord(long id, String name, long size, int blockSize, int replication,
    Instant created, BlockRef root, long generation, long revision, CloneOrigin origin,
    NavigableMap<String, Snapshot> snapshots, long reserved, VolumeKeys encryption,
    Erasure erasure, VolumeQos qos) {

  VolumeRecord {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(created, "created");
    snapshots = Collections.unmodifiableNavigableMap(new TreeMap<>(snapshots));
    reserved = Math.max(reserved, generation);
    if (qos == null) {
      qos = VolumeQos.UNLIMITED;
    }
  }

  /** A record of a volume without I/O limits. */
  VolumeRecord(long id, String name, long size, int blockSize, int replication,
      Instant created, BlockRef root, long generation, long revision, CloneOrigin origin,
      NavigableMap<String, Snapshot> snapshots, long reserved, VolumeKeys encryption,
      Erasure erasure) {
    this(id, name, size, blockSize, replication, created, root, generation, revision, origin,
        snapshots, reserved, encryption, erasure, null);
  }

  /** A record of a volume that is not erasure-coded. */
  VolumeRecord(long id, String name, long size, int blockSize, int replication,
      Instant created, BlockRef root, long generation, long revision, CloneOrigin origin,
      NavigableMap<String, Snapshot> snapshots, long reserved, VolumeKeys encryption) {
    this(id, name, size, blockSize, replication, created, root, generation, revision, origin,
        snapshots, reserved, encryption, null);
  }

  /** A record of a volume that is neither encrypted nor erasure-coded. */
  VolumeRecord(long id, String name, long size, int blockSize, int replication,
      Instant created, BlockRef root, long generation, long revision, CloneOrigin origin,
      NavigableMap<String, Snapshot> snapshots, long reserved) {
    this(id, name, size, blockSize, replication, created, root, generation, revision, origin,
        snapshots, reserved, null);
  }

  /** A record with no generations reserved above the committed one. */
  VolumeRecord(long id, String name, long size, int blockSize, int replication,
      Instant created, BlockRef root, long generation, long revision, CloneOrigin origin,
      NavigableMap<String, Snapshot> snapshots) {
    this(id, name, size, blockSize, replication, created, root, generation, revision, origin,
        snapshots, generation);
  }

  /** A record without origin and snapshots. */
  VolumeRecord(long id, String name, long size, int blockSize, int replication,
      Instant created, BlockRef root, long generation, long revision) {
    this(id, name, size, blockSize, replication, created, root, generation, revision, null,
        new TreeMap<>());
  }

  /** The public description of the volume. */
  VolumeInfo info() {
    return new VolumeInfo(id, name, size, blockSize, replication, created, encryption,
        erasure, qos);
  }

  /** The volume's head. */
  Head head() {
    return new Head(id, root, generation, revision, reserved);
  }

  /** This record with other keys. */
  VolumeRecord withKeys(VolumeKeys keys) {
    return new VolumeRecord(id, name, size, blockSize, replication, created, root,
        generation, revision, origin, snapshots, reserved, keys, erasure, qos);
  }

  /** This record with another erasure-coding policy (null: replicated). */
  VolumeRecord withErasure(Erasure policy) {
    return new VolumeRecord(id, name, size, blockSize, replication, created, root,
        generation, revision, origin, snapshots, reserved, encryption, policy, qos);
  }

  /** This record with other I/O limits. */
  VolumeRecord withQos(VolumeQos limits) {
    return new VolumeRecord(id, name, size, blockSize, replication, created, root,
        generation, revision, origin, snapshots, reserved, encryption, erasure, limits);
  }

  /** This record with a new replication. */
  VolumeRecord withReplication(int newReplication) {
    return new VolumeRecord(id, name, size, blockSize, newReplication, created, root,
        generation, revision, origin, snapshots, reserved, encryption,
        erasure, qos);
  }

  VolumeRecord withSize(long newSize) {
    return new VolumeRecord(id, name, newSize, blockSize, replication, created, root,
        generation, revision, origin, snapshots, reserved, encryption,
        erasure, qos);
  }

  /** This record with a new head. */
  VolumeRecord withHead(BlockRef newRoot, long newGeneration, long newRevision) {
    return withHead(newRoot, newGeneration, newRevision, reserved);
  }

  /** This record with a new head and reservation. */
  VolumeRecord withHead(BlockRef newRoot, long newGeneration, long newRevision,
      long newReserved) {
    return new VolumeRecord(id, name, size, blockSize, replication, created, newRoot,
        newGeneration, newRevision, origin, snapshots, newReserved, encryption, erasure,
        qos);
  }

  /** This record with {@code s} added, or removed if {@code add} is false. */
  VolumeRecord withSnapshot(Snapshot s, boolean add) {
    TreeMap<String, Snapshot> m = new TreeMap<>(snapshots);
    if (add) {
      m.put(s.name(), s);
    } else {
      m.remove(s.name());
    }
    return new VolumeRecord(id, name, size, blockSize, replication, created, root,
        generation, revision, origin, m, reserved, encryption, erasure, qos);
  }
}
