package io.torus.internal.meta;

import java.util.List;
import java.util.Optional;

/**
 * The cluster's live peers and its ring, as stored in etcd. Minimal on purpose: a peer
 * registry (entries bound to each node's lease) and one compare-and-swap ring key.
 *
 * <p>Thread-safe. Calls block for at most the metadata request timeout and throw
 * {@link io.torus.TorusException} (EIO, retryable) when etcd cannot be reached.
 */
public interface ClusterDirectory {

  /**
   * A registered peer.
   *
   * @param nodeId the peer's node id
   * @param host the address clients connect to
   * @param port its port
   * @param capacity bytes its stores can hold
   */
  record PeerRecord(String nodeId, String host, int port, long capacity) {}

  /**
   * The stored ring.
   *
   * @param bytes the ring's encoding (see {@code RingCodec})
   * @param revision the compare-and-swap token
   */
  record StoredRing(byte[] bytes, long revision) {}

  /**
   * Registers (or refreshes) this node as a peer under its current lease: the entry
   * disappears when the lease expires. Call it periodically (it re-registers after a lease is
   * re-granted).
   */
  void register(PeerRecord self);

  /** Removes this node's registration. */
  void deregister(String nodeId);

  /** Every registered (hence live) peer, sorted by id. */
  List<PeerRecord> peers();

  /** The ring, if one was stored. */
  Optional<StoredRing> ring();

  /**
   * Replaces the ring if its revision is still {@code expectedRevision} (0: no ring yet).
   * Returns false if it changed meanwhile.
   */
  boolean compareAndSetRing(long expectedRevision, byte[] ring);
}
