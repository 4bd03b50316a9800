package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UnionRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new UnionRing(version, new KetamaRing(1, peers.subList(0, peers.size() - 1)),
        new KetamaRing(2, peers));
  }

  @Test
  void writesGoToTheNewRingReadsAlsoTheOld() {
    List<RingPeer> three = peers(3);
    List<RingPeer> four = new ArrayList<>(three);
    four.add(new RingPeer("node-new", 1L << 30));
    Ring old = new KetamaRing(1, three);
    Ring next = new KetamaRing(2, four);
    Ring union = new UnionRing(3, old, next);
    SplittableRandom rnd = new SplittableRandom(9);
    int moved = 0;
    for (int i = 0; i < 3000; i++) {
      BlockRef ref = ref(rnd);
      assertThat(union.peers(ref, 2)).isEqualTo(next.peers(ref, 2));
      List<String> reads = union.readPeers(ref, 2);
      assertThat(reads).containsAll(old.peers(ref, 2)).containsAll(next.peers(ref, 2))
          .doesNotHaveDuplicates();
      if (!old.peers(ref, 2).equals(next.peers(ref, 2))) {
        moved++;
        assertThat(reads.size()).isGreaterThan(2);
      }
    }
    assertThat(moved).isPositive();
    assertThat(union.members()).hasSize(4);
  }
}
