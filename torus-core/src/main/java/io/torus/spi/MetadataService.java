package io.torus.spi;

import io.torus.BlockRef;
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
   * {@link io.torus.VolumeExistsException}.
   */
  VolumeInfo createVolume(VolumeSpec spec);

  /** The named volume, if it exists. */
  Optional<VolumeInfo> volume(String name);

  /** Every volume, sorted by name. */
  List<VolumeInfo> volumes();

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
   * and in the same atomic step advances the head's generation by one, so that the new
   * writer's generations can never collide with blocks a dead writer left behind. Throws
   * {@link io.torus.VolumeLockedException} naming the current holder.
   */
  VolumeLock lockVolume(long volumeId, String holder);

  /**
   * Commits a new head: succeeds only if {@code lock} is still held and the head is still
   * {@code expected} (same revision). This is the commit point of a flush.
   *
   * @param generation the new head's generation, greater than {@code expected.generation()}
   * @return the committed head
   * @throws io.torus.LeaseLostException if the lock is no longer held
   * @throws io.torus.ConcurrentModificationException if the head changed
   */
  Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation);

  /** Releases a writer lock; a lock already lost is ignored. */
  void unlock(VolumeLock lock);

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
