package io.torus.internal.meta;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The cluster's peers: each node registers itself, refreshes its usage, and sees every known
 * peer as up or down.
 *
 * <p>A peer has two records: a persistent <em>member</em> record (it is part of the cluster)
 * and an <em>alive</em> record bound to the node's session. A peer is up while its alive
 * record exists, down when only the member record is left (its session ended: it stopped,
 * crashed or was cut off for longer than the lease TTL). A down peer stays listed until it is
 * {@linkplain #remove removed}.
 *
 * <p>Thread-safe. Calls block for at most the metadata service's request timeout and throw
 * {@link io.torus.TorusException} ({@link io.torus.ErrorCode#EIO}, retryable) when the store
 * cannot be reached; a failed call may have been applied or not.
 */
public interface PeerRegistry extends AutoCloseable {

  /**
   * Registers this node (writes its member and alive records). After a lost session the
   * registry re-registers by itself as soon as a new session exists, with the last values
   * given here or to {@link #refresh}. Registering again replaces the values.
   *
   * @param self this node; not null
   */
  void register(PeerInfo self);

  /**
   * Updates this node's capacity and used bytes (call it periodically).
   *
   * @return the values now registered
   * @throws io.torus.TorusException EINVAL if {@link #register} was not called, or for
   *     negative values
   */
  PeerInfo refresh(long capacityBytes, long usedBytes);

  /** Every known peer, up and down, sorted by node id. */
  List<PeerStatus> peers();

  /**
   * One page of the known peers, up and down: those whose node ids come strictly after
   * {@code after} (null: from the first) in id order, at most {@code limit} (see
   * {@link io.torus.Page}), read at one point in time. The default slices {@link #peers()}.
   *
   * @throws io.torus.TorusException EINVAL for a bad limit or a malformed {@code after}
   */
  default io.torus.Page<PeerStatus> peers(String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      PeerInfo.checkNodeId(after);
    }
    return io.torus.Page.of(peers(), PeerStatus::nodeId, after, limit);
  }

  /** The peer with this node id, if it is known. */
  Optional<PeerStatus> peer(String nodeId);

  /**
   * Forgets a down peer (deletes its member record). Refused with
   * {@link io.torus.ErrorCode#EPERM} while the peer is up: stop it first. Removing an unknown
   * peer is a no-op that returns {@code false}.
   *
   * @return whether a record was removed
   */
  boolean remove(String nodeId);

  /**
   * Calls {@code changed} (on a thread of the registry, never the caller's) after a peer
   * registered, went down or was removed, so a reader can refresh at once instead of at its
   * next poll. A registry that cannot tell returns a subscription that never calls: readers
   * must poll anyway.
   */
  default Subscription onChange(Runnable changed) {
    return () -> { };
  }

  /**
   * Calls {@code listener} with every known peer (as {@link #peers} lists them) after each
   * change, on a thread of the registry (never the caller's), one call at a time. A registry
   * that watches its store keeps the list from the watch's events, so a change costs each
   * watcher only the changed record, not a new listing; the default reads {@link #peers}
   * after each {@link #onChange} call (and never calls if the registry cannot tell).
   * Readers that need the list at once read {@link #peers} themselves.
   */
  default Subscription watch(Consumer<List<PeerStatus>> listener) {
    return onChange(() -> {
      try {
        listener.accept(peers());
      } catch (io.torus.TorusException e) {
        // the next change delivers again; the reader keeps what it had
      }
    });
  }

  /**
   * Stops re-registering and deletes this node's alive record (the node is listed as down
   * from then on). Idempotent; does not throw if the store is unreachable (the alive record
   * then ends with the session).
   */
  @Override
  void close();
}
