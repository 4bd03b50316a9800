package io.torus.internal.ring;

import java.util.List;

class SinglePeerRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new SinglePeerRing(version, peers.stream()
        .min(java.util.Comparator.comparing(RingPeer::id)).orElseThrow());
  }
}
