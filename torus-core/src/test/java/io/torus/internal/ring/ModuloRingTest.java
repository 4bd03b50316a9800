package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ModuloRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new ModuloRing(version, peers);
  }

  @Test
  void firstCopiesSpreadEvenlyOverEqualPeers() {
    Ring ring = newRing(1, peers(5));
    Map<String, Integer> first = new HashMap<>();
    SplittableRandom rnd = new SplittableRandom(4);
    for (int i = 0; i < 50_000; i++) {
      first.merge(ring.peers(ref(rnd), 1).get(0), 1, Integer::sum);
    }
    assertThat(first).hasSize(5);
    assertThat(first.values()).allSatisfy(n -> assertThat(n).isBetween(9_000, 11_000));
  }
}
