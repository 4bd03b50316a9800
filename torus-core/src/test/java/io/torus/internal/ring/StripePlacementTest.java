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
    }
  }

  /**
   * A joining peer takes about its share of shards, plus the positions that collided with a
   * peer it freed (about 1.4 times the share for 4+2 on 10 peers, where placing every
   * position by one key's order would move about 3.5 times it).
   */
  @Test
  void aJoinMovesAboutTheJoinersShareOfShards() {
    Ring before = ring(9);
    List<RingPeer> more = new ArrayList<>(before.members());
    more.add(new RingPeer("p9", 1L << 30));
    Ring after = new KetamaRing(2, more);
    int stripes = 2000;
    int moved = 0;
    for (int s = 0; s < stripes; s++) {
      BlockRef d0 = new BlockRef(3, 5 + s / 500, 4 * (s % 500), BlockKind.DATA, 4, 2);
      List<String> a = StripePlacement.owners(before, d0);
      List<String> b = StripePlacement.owners(after, d0);
      for (int i = 0; i < 6; i++) {
        moved += a.get(i).equals(b.get(i)) ? 0 : 1;
      }
      assertThat(new HashSet<>(b)).hasSize(6);
    }
    double ideal = stripes * 6 / 10.0; // the newcomer's share of all shards
    assertThat((double) moved).as("shards moved, ideal %.0f", ideal)
        .isLessThan(1.6 * ideal).isGreaterThan(0.8 * ideal);
  }

  @Test
  void aRingSmallerThanTheStripeWrapsAndSaysItDoesNotFit() {
    Ring ring = ring(4);
    BlockRef d0 = new BlockRef(3, 5, 8, BlockKind.DATA, 4, 2);
    assertThat(StripePlacement.fits(ring, 6)).isFalse();
    assertThat(StripePlacement.fits(ring(6), 6)).isTrue();
    List<String> owners = StripePlacement.owners(ring, d0);
    assertThat(new HashSet<>(owners.subList(0, 4))).hasSize(4);
    assertThat(owners.get(4)).isEqualTo(owners.get(0));
    assertThat(ring.peers(d0.shard(5), 2)).containsExactly(owners.get(1));
  }
}
