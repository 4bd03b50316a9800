package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KetamaRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new KetamaRing(version, peers);
  }

  @Test
  void aPeerWithTwiceTheCapacityGetsAboutTwiceTheBlocks() {
    Ring ring = newRing(1, List.of(new RingPeer("small", 1L << 30),
        new RingPeer("big", 2L << 30)));
    int big = 0;
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < 30_000; i++) {
      if (ring.peers(ref(rnd), 1).get(0).equals("big")) {
        big++;
      }
    }
    assertThat(big).isBetween(18_000, 22_000); // ideal 20 000
  }
}
