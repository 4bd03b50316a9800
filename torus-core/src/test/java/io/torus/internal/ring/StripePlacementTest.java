package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every shard of a stripe on a peer of its own, fallbacks outside the stripe. */
class StripePlacementTest {

  private static Ring ring(int peers) {
    List<RingPeer> members = new ArrayList<>();
    for (int i = 0; i < peers; i++) {
      members.add(new RingPeer("p" + i, 1L << 30));
    }
    return new KetamaRing(1, members);
  }

  @Test
  void shardsOfAStripeLandOnDistinctPeersAndFallBackOutsideIt() {
    Ring ring = ring(9);
    for (int seq = 0; seq < 400; seq += 4) {
      BlockRef d0 = new BlockRef(3, 5, seq, BlockKind.DATA, 4, 2);
      List<String> owners = StripePlacement.owners(ring, d0);
      assertThat(new HashSet<>(owners)).hasSize(6);
      for (int i = 0; i < 6; i++) {
        List<String> peers = ring.peers(d0.shard(i), 3);
        assertThat(peers.get(0)).isEqualTo(owners.get(i));
        assertThat(peers.subList(1, 3)).doesNotContainAnyElementsOf(owners);
        assertThat(ring.peers(d0.shard(i), 1)).containsExactly(owners.get(i));
      }
      assertThat(owners).isEqualTo(ring.peers(d0.stripe(), 6));
    }
  }

  @Test
  void aRingSmallerThanTheStripeWrapsAndSaysItDoesNotFit() {
    Ring ring = ring(4);
    BlockRef d0 = new BlockRef(3, 5, 8, BlockKind.DATA, 4, 2);
    assertThat(StripePlacement.fits(ring, 6)).isFalse();
    assertThat(StripePlacement.fits(ring(6), 6)).isTrue();
    List<String> owners = StripePlacement.owners(ring, d0);
    assertThat(owners.get(4)).isEqualTo(owners.get(0));
    assertThat(ring.peers(d0.shard(5), 2)).containsExactly(owners.get(1));
  }
}
