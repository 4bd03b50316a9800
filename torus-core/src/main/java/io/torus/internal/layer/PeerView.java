package io.torus.internal.layer;

import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;

/**
 * What a {@link DistributedBlockLayer} knows about the cluster right now: the ring and how to
 * reach each live peer. Implementations are thread-safe and answer from memory (they are
 * refreshed in the background).
 */
public interface PeerView {

  /** The current ring, or null if the cluster has none yet. */
  Ring ring();

  /** A client for a live peer, or null if the peer is not registered (down). */
  PeerClient client(String peerId);
}
