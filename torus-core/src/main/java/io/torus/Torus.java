package io.torus;

import java.util.List;

/**
 * A Torus node: a member of a storage cluster that can create, open, resize and delete
 * volumes, and (when it has stores) hold blocks for its peers.
 *
 * <p>Thread-safe. Build one with {@link #builder()}; close it to flush and release every
 * volume it opened.
 */
public interface Torus extends AutoCloseable {

  /** A builder with the defaults described in {@code src-docs/configuration.md}. */
  static TorusBuilder builder() {
    return new TorusBuilder();
  }

  /** This node's stable id. */
  String nodeId();

  /**
   * Creates a volume; throws {@link VolumeExistsException} if the name is taken, and
   * {@link TorusException} (EINVAL) for a spec this node cannot place: more copies than a
   * local node has stores, or an erasure-coded one on a local node (erasure coding needs a
   * cluster of at least k+m peers).
   */
  VolumeInfo createVolume(VolumeSpec spec);

  /**
   * Every volume of the cluster, by name. Reads the whole listing: with many volumes, prefer
   * {@link #volumes(String, int)}.
   */
  List<VolumeInfo> volumes();

  /**
   * One page of the cluster's volumes: those whose names come strictly after {@code after}
   * (null: from the first) in name order, at most {@code limit} of them, and whether more
   * follow (see {@link Page}). Reads only the page from the metadata store (on etcd, at one
   * revision), so a client can walk 10 000 volumes without holding them all.
   *
   * @param after a volume name (it need not exist), or null
   * @param limit 1 to {@link Page#MAX_LIMIT}
   * @throws TorusException EINVAL for a bad limit or a malformed {@code after}; EIO
   *     (retryable) if the metadata cannot be read
   */
  Page<VolumeInfo> volumes(String after, int limit);

  /** The named volume; throws {@link VolumeNotFoundException}. */
  VolumeInfo volume(String name);

  /**
   * Opens a volume for reading and writing. One writer per volume in the cluster: throws
   * {@link VolumeLockedException} naming the holder if another handle has it open for writing.
   */
  BlockVolume openVolume(String name);

  /** Opens a volume read-only at its last committed head; needs no lock. */
  BlockVolume openVolumeReadOnly(String name);

  /**
   * Grows a volume to {@code newSize} bytes; an open handle of this node sees the new size at
   * once. Shrinking is refused (EINVAL).
   */
  VolumeInfo resizeVolume(String name, long newSize);

  /**
   * Deletes a volume. Refused with {@link VolumeLockedException} while it is open for writing.
   * Its blocks are reclaimed later by garbage collection.
   */
  void deleteVolume(String name);

  /**
   * Takes a snapshot of a volume's last committed head (its content at the last completed
   * flush). Allowed while the volume is open and being written; costs no data copy. Throws
   * {@link VolumeExistsException} if the volume already has a snapshot of that name.
   */
  SnapshotInfo createSnapshot(String volume, String snapshot);

  /** The volume's snapshots, sorted by name; throws {@link VolumeNotFoundException}. */
  List<SnapshotInfo> snapshots(String volume);

  /**
   * One page of a volume's snapshots: those whose names come strictly after {@code after}
   * (null: from the first) in name order, at most {@code limit} of them (see {@link Page});
   * on etcd the page and the volume it belongs to are read at one revision.
   *
   * @param after a snapshot name (it need not exist), or null
   * @param limit 1 to {@link Page#MAX_LIMIT}
   * @throws VolumeNotFoundException if there is no such volume
   * @throws TorusException EINVAL for a bad limit or a malformed name; ENOTSUP if the
   *     metadata service has no snapshots
   */
  Page<SnapshotInfo> snapshots(String volume, String after, int limit);

  /** Deletes a snapshot; the space only it used comes back at the next collection. */
  void deleteSnapshot(String volume, String snapshot);

  /**
   * Makes a volume's content that of one of its snapshots again (an instant head swap). Refused
   * with {@link VolumeLockedException} while the volume is open for writing.
   */
  void restoreSnapshot(String volume, String snapshot);

  /** Opens a snapshot read-only. */
  BlockVolume openSnapshot(String volume, String snapshot);

  /**
   * Creates a new writable volume whose content starts as a snapshot's. No data is copied;
   * writes to the clone never show in the origin, nor the origin's in the clone. The clone
   * gets its origin's block size, replication, encryption and erasure-coding policy.
   */
  VolumeInfo cloneVolume(String volume, String snapshot, String newVolume);

  /**
   * Wraps the data keys of the encrypted volume {@code name} with another key-encryption key:
   * the data is not touched (it stays encrypted with the same data keys), and from then on
   * opening the volume needs {@code newKek} instead of the old key, which this node must have
   * been given ({@link TorusBuilder#keyProvider}). Snapshots go with the volume; clones made
   * before keep their own copy of the keys (rekey them separately). Throws EINVAL for a volume
   * that is not encrypted, {@link EncryptionKeyException} without the old key.
   */
  VolumeInfo rekeyVolume(String name, io.torus.spi.KeyProvider newKek);

  /**
   * Sets the I/O limits of volume {@code name} (see {@link VolumeQos}; {@link
   * VolumeQos#UNLIMITED} removes them) and returns its new description. Handles of the volume
   * open on this node apply them at once (requests already waiting keep the wait they were
   * given); handles open on other nodes within {@link TorusBuilder#qosRefresh} (each node
   * re-reads the limits of the volumes it has open that often), and every handle opened later
   * at its open. Throws {@link VolumeNotFoundException}, and ENOTSUP if the metadata service
   * does not store limits.
   */
  VolumeInfo setVolumeQos(String name, VolumeQos qos);

  /**
   * Runs one garbage-collection cycle over this node's stores now: deletes every block that no
   * volume head (nor a handle open on this node) can reach and that is not of a generation a
   * writer may still commit. If the metadata cannot be read completely, it deletes nothing and
   * throws. Nodes also collect in the background (see {@link TorusBuilder#gcInterval}).
   */
  GcResult collectGarbage();

  /**
   * The cluster this node belongs to, for operators: peers, ring and defaults (see
   * {@link ClusterAdmin}). Valid until the node is closed.
   */
  ClusterAdmin cluster();

  /** Flushes and closes every volume this node opened, then stops the node. Idempotent. */
  @Override
  void close();
}
