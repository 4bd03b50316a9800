package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SinglePeerRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new SinglePeerRing(version, peers.stream()
        .min(java.util.Comparator.comparing(RingPeer::id)).orElseThrow());
  }

  @Test
  void everyBlockGoesToTheOnePeer() {
    Ring ring = newRing(1, peers(4));
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 500; i++) {
      assertThat(ring.peers(ref(rnd), 3)).containsExactly("node-0");
    }
  }
}
