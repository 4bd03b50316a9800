package io.torus.internal.meta;

import java.util.Optional;

/**
 * Where the cluster's ring lives: one {@link VersionedRing}, changed only by compare-and-swap,
 * watched by every node.
 *
 * <p>Thread-safe. Calls block for at most the request timeout and throw
 * {@link io.torus.TorusException} ({@link io.torus.ErrorCode#EIO}, retryable) when the store
 * cannot be reached; a damaged stored ring is an EIO error naming where it is stored.
 */
public interface RingStore {

  /** The current ring, or empty if none was ever stored. */
  Optional<VersionedRing> read();

  /**
   * Stores a new ring if the current one still has {@code expectedVersion}.
   *
   * @param expectedVersion the version read, or 0 if there is no ring yet
   * @param encoded the new ring's bytes; copied
   * @return the stored ring, version {@code expectedVersion + 1}
   * @throws io.torus.ConcurrentUpdateException if the version is not
   *     {@code expectedVersion} (the message names the version found); nothing was stored
   */
  VersionedRing update(long expectedVersion, byte[] encoded);

  /**
   * Watches the ring. The listener is first told the current ring (if there is one), then
   * every later version, in increasing version order and never twice, on a thread of the
   * store (never a network or jetcd thread), one call at a time. Connection losses are
   * survived: the watch resumes where it stopped. If the store dropped the history the watch
   * needed (etcd compaction), the listener is told the newest ring instead, so intermediate
   * versions may be skipped but the newest is never missed.
   *
   * @param listener not null
   * @return closing it stops the watch
   */
  Subscription watch(RingListener listener);

  /** Told about ring versions. */
  interface RingListener {
    /** A new ring version; called on a store thread. */
    void ringChanged(VersionedRing ring);

    /**
     * The stored ring could not be decoded ({@link io.torus.ErrorCode#EIO}); the watch goes
     * on and reports the next good version.
     */
    default void ringUnreadable(io.torus.TorusException error) {}
  }
}
