package io.torus.spi;

import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import java.util.List;
import java.util.Optional;

/**
 * Everything a cluster must agree on: volumes, heads, writer locks. Implemented over etcd for
 * clusters and locally (persisted in the data directory) for one JVM.
 *
 * <p>Thread-safe. Calls block until the change is durable in the metadata store, or throw
 * {@link io.torus.TorusException}: {@link io.torus.ErrorCode#EIO} when the store cannot be
 * reached within the configured timeout. A failed call changes nothing, except where noted.
 */
public interface MetadataService extends AutoCloseable {

  /**
   * Creates a volume with a fresh id and an empty head (root null, generation 0). Exactly one
   * of several racing creators of one name wins; the others get
   * {@link io.torus.VolumeExistsException}. The service stores the whole spec: the returned
   * and every later {@link VolumeInfo} of the volume carries its
   * {@link VolumeSpec#erasure() erasure-coding policy} (null: replicated) unchanged, through
   * resizes and reopening; a node refuses (ENOTSUP, undoing the creation) a service that
   * returns another. Likewise its {@link VolumeSpec#qos() I/O limits}, which change only by
   * {@link #setVolumeQos}.
   */
  VolumeInfo createVolume(VolumeSpec spec);

  /** The named volume, if it exists. */
  Optional<VolumeInfo> volume(String name);

  /** Every volume, sorted by name. */
  List<VolumeInfo> volumes();

  /**
   * One page of the volumes: those whose names come strictly after {@code after} (null:
   * from the first) in name order ({@link String#compareTo}), at most {@code limit}, with
   * the name to continue after if more follow (see {@link io.torus.Page}). A service should
   * read only the page from its store, the page at one consistent point in time. The default
   * slices {@link #volumes()}, which reads everything.
   *
   * @param after a volume name (it need not exist), or null
   * @param limit 1 to {@link io.torus.Page#MAX_LIMIT}
   * @throws io.torus.TorusException EINVAL for a bad limit or a malformed {@code after}
   */
  default io.torus.Page<VolumeInfo> volumes(String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      VolumeSpec.checkName(after);
    }
    return io.torus.Page.of(volumes(), VolumeInfo::name, after, limit);
  }

  /**
   * Sets a volume's size; only growth is allowed (EINVAL otherwise). Throws
   * {@link io.torus.VolumeNotFoundException}.
   */
  VolumeInfo resizeVolume(String name, long newSize);

  /**
   * Removes a volume's record and head. Refused with {@link io.torus.VolumeLockedException}
   * while a writer holds it. Blocks are not touched (garbage collection reclaims them).
   */
  void deleteVolume(String name);

  /** The volume's current head; throws {@link io.torus.VolumeNotFoundException}. */
  Head head(long volumeId);

  /**
   * Takes the volume's writer lock for {@code holder}, bound to this node's session (lease),
   * and in the same atomic step moves the head's generation up to its reserved generation
   * and reserves {@link Head#RESERVATION} more above it (see {@link Head}): the new writer's
   * generations can never collide with blocks any earlier writer stored, committed or not.
   * While a flush journal is recorded ({@link #journal}) the stored generation stays (only
   * the returned lock's head is moved up), so the journal's blocks stay pending.
   * Throws {@link io.torus.VolumeLockedException} naming the current holder.
   */
  VolumeLock lockVolume(long volumeId, String holder);

  /**
   * Commits a new head: succeeds only if {@code lock} is still held and the head is still
   * {@code expected} (same revision). This is the commit point of a flush.
   *
   * @param generation the new head's generation, greater than {@code expected.generation()}
   *     and at most {@code expected.reserved()}
   * @return the committed head, whose reservation reaches at least
   *     {@code generation + Head.RESERVATION}
   * @throws io.torus.LeaseLostException if the lock is no longer held
   * @throws io.torus.ConcurrentUpdateException if the head changed
   */
  Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation);

  /**
   * Checks, without a round trip, that this node can still be sure it holds {@code lock}:
   * throws {@link io.torus.LeaseLostException} if the lock was released or lost, or if the
   * session it hangs on may have expired (not renewed within its TTL: a process paused past
   * it). A flush with nothing to commit calls it so that a writer that lost its lock is never
   * told "flushed". The default (for services without sessions) checks nothing.
   */
  default void checkLock(VolumeLock lock) {}

  // ---- flush journal (default: none; every flush commits the head) ----

  /**
   * Whether this service records flush journals ({@link #setJournal}): a writer may then make
   * a flush durable on a set of peers and commit the head only now and then (a checkpoint).
   */
  default boolean supportsJournal() {
    return false;
  }

  /**
   * The peers (node ids) of the volume's flush journal record, empty if it has none. While a
   * record exists, entries above the head may hold flushes the head does not: the next writer
   * replays them before its first commit, and {@link #lockVolume} leaves the stored
   * generation where it is (the returned lock's head still starts the new writer above every
   * earlier writer's generations), so garbage collection keeps the entries' blocks.
   */
  default List<String> journal(long volumeId) {
    return List.of();
  }

  /**
   * Records the peers of the locked volume's flush journal, or with an empty list removes the
   * record (after a commit that covers every entry). Throws
   * {@link io.torus.LeaseLostException} if {@code lock} is no longer held.
   */
  default void setJournal(VolumeLock lock, List<String> peers) {
    throw unsupported("flush journals");
  }

  /** Releases a writer lock; a lock already lost is ignored. */
  void unlock(VolumeLock lock);

  // ---- snapshots and clones (default: not supported) ----

  /**
   * Sets how many copies of each block a volume keeps (1 to 16). The cluster's rebalancing
   * adds or removes copies to match; handles opened before keep writing the old number.
   * Refused (EINVAL) for an erasure-coded volume: its replication is fixed by its policy
   * (m+1 copies of its map nodes). Throws {@link io.torus.VolumeNotFoundException}; ENOTSUP
   * where unsupported.
   */
  default VolumeInfo setVolumeReplication(String volume, int replication) {
    throw unsupported("changing replication");
  }

  /**
   * Sets a volume's I/O limits ({@link io.torus.VolumeQos#UNLIMITED}: none); every later
   * {@link VolumeInfo} of it carries them, through resizes and reopening, and clones made
   * afterwards start with them. Returns the changed description. Throws
   * {@link io.torus.VolumeNotFoundException}; ENOTSUP where unsupported (the default: a
   * service that keeps no limits, on which a node also refuses to create a limited volume).
   */
  default VolumeInfo setVolumeQos(String volume, io.torus.VolumeQos qos) {
    throw unsupported("volume QoS limits");
  }

  /**
   * Freezes the volume's current committed head as a named snapshot. Allowed while the
   * volume is locked and being written: the snapshot holds what the last commit (the last
   * completed flush) made durable, nothing that is still buffered.
   *
   * @param volume the volume's name
   * @param snapshot the snapshot's name (same rules as volume names, see
   *     {@link Snapshot#checkName})
   * @return the new snapshot
   * @throws io.torus.VolumeNotFoundException if there is no such volume
   * @throws io.torus.VolumeExistsException if the volume already has a snapshot of that name
   * @throws io.torus.TorusException ENOTSUP if this service has no snapshots
   */
  default Snapshot createSnapshot(String volume, String snapshot) {
    throw unsupported("snapshots");
  }

  /**
   * Every snapshot of a volume, sorted by name.
   *
   * @throws io.torus.VolumeNotFoundException if there is no such volume
   */
  default List<Snapshot> snapshots(String volume) {
    throw unsupported("snapshots");
  }

  /**
   * The named snapshot of a volume, if both exist.
   *
   * @throws io.torus.VolumeNotFoundException if there is no such volume
   */
  default Optional<Snapshot> snapshot(String volume, String snapshot) {
    throw unsupported("snapshots");
  }

  /**
   * One page of a volume's snapshots: those whose names come strictly after {@code after}
   * (null: from the first) in name order, at most {@code limit} (see {@link io.torus.Page});
   * read like {@link #volumes(String, int)}. The default slices {@link #snapshots(String)}.
   *
   * @param after a snapshot name (it need not exist), or null
   * @param limit 1 to {@link io.torus.Page#MAX_LIMIT}
   * @throws io.torus.VolumeNotFoundException if there is no such volume
   * @throws io.torus.TorusException EINVAL for a bad limit or a malformed name
   */
  default io.torus.Page<Snapshot> snapshots(String volume, String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      Snapshot.checkName(after);
    }
    return io.torus.Page.of(snapshots(volume), Snapshot::name, after, limit);
  }

  /**
   * Deletes a snapshot record; its blocks are left for garbage collection. Clones made from
   * it do not depend on it (their heads keep the shared blocks alive), so it can always be
   * deleted.
   *
   * @throws io.torus.VolumeNotFoundException if the volume or the snapshot does not exist
   */
  default void deleteSnapshot(String volume, String snapshot) {
    throw unsupported("snapshots");
  }

  /**
   * Makes a snapshot the volume's head again (an instant head swap). The head's generation
   * does not go back: it stays at the current one, so refs handed out since the snapshot
   * are never reused. The volume's size is kept (a volume only grows).
   *
   * @return the new head
   * @throws io.torus.VolumeLockedException while a writer holds the volume
   * @throws io.torus.VolumeNotFoundException if the volume or the snapshot does not exist
   */
  default Head restoreSnapshot(String volume, String snapshot) {
    throw unsupported("snapshots");
  }

  /**
   * Creates a writable volume whose first head is a snapshot's root: no data is copied, the
   * blocks are shared until either side overwrites them. The clone gets the snapshot's size
   * and the source's block size, replication, erasure-coding policy and I/O limits, and
   * records where it came from ({@link #cloneOrigin}). It does not depend on its origin
   * afterwards: the source volume and the snapshot can be deleted while the clone lives on.
   *
   * @param name the new volume's name
   * @throws io.torus.VolumeExistsException if a volume of that name exists
   * @throws io.torus.VolumeNotFoundException if the source or the snapshot does not exist
   */
  default VolumeInfo createClone(String name, String sourceVolume, String snapshot) {
    throw unsupported("clones");
  }

  /**
   * {@link #createClone} of a volume that may be encrypted: {@code keys} are the clone's
   * keys (null exactly when the source is not encrypted), the source's keys as
   * {@link io.torus.VolumeKeys#forClone} makes them, with a new key of the clone's own. The
   * service stores them; it checks that they hold the source's keys (EINVAL otherwise).
   */
  default VolumeInfo createClone(String name, String sourceVolume, String snapshot,
      io.torus.VolumeKeys keys) {
    if (keys == null) {
      return createClone(name, sourceVolume, snapshot);
    }
    throw unsupported("encrypted volumes");
  }

  /**
   * Whether the service stores the keys of encrypted volumes ({@link VolumeSpec#encryption},
   * {@link #setVolumeKeys}). A node refuses to create an encrypted volume on a service that
   * does not.
   */
  default boolean supportsEncryption() {
    return false;
  }

  /**
   * Replaces the wrapped keys of an encrypted volume (a rekey: the same data keys wrapped by
   * another key-encryption key), if they are still {@code expected}; else
   * {@link io.torus.ConcurrentUpdateException}. Throws
   * {@link io.torus.VolumeNotFoundException}; ENOTSUP where unsupported.
   */
  default VolumeInfo setVolumeKeys(String volume, io.torus.VolumeKeys expected,
      io.torus.VolumeKeys replacement) {
    throw unsupported("encrypted volumes");
  }

  /**
   * Where a volume was cloned from, or empty if it was created empty.
   *
   * @throws io.torus.VolumeNotFoundException if there is no such volume
   */
  default Optional<CloneOrigin> cloneOrigin(String volume) {
    throw unsupported("clones");
  }

  /**
   * Every root that keeps blocks alive (the head of every volume and every snapshot), read
   * in one consistent view. All or nothing: if any record cannot be read or decoded, or the
   * store cannot be reached, it throws ({@link io.torus.ErrorCode#EIO}) and never returns a
   * partial list, so garbage collection built on it deletes nothing on error.
   */
  default LiveRoots liveRoots() {
    throw unsupported("live root listing");
  }

  private static io.torus.TorusException unsupported(String what) {
    return new io.torus.TorusException(io.torus.ErrorCode.ENOTSUP,
        "this metadata service does not support " + what);
  }

  /**
   * Registers a listener told when this node's session (lease) is lost: every lock it held
   * is void from then on. Implementations without sessions never call it.
   */
  default void addSessionListener(SessionListener listener) {}

  /** Releases connections and the session (which releases its locks). Idempotent. */
  @Override
  void close();

  /** Told when the node's metadata session ends. */
  @FunctionalInterface
  interface SessionListener {
    /** The session was lost; {@code cause} says why. Called on a metadata thread. */
    void sessionLost(Throwable cause);
  }
}
