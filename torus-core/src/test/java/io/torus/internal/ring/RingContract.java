package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** What every ring kind guarantees. One subclass per kind. */
abstract class RingContract {

  /** A ring of this kind over {@code peers} (a single-peer kind uses the first). */
  protected abstract Ring newRing(long version, List<RingPeer> peers);

  protected static List<RingPeer> peers(int n) {
    List<RingPeer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new RingPeer("node-" + i, 1L << 30));
    }
    return out;
  }

  protected static BlockRef ref(SplittableRandom rnd) {
    return new BlockRef(rnd.nextLong(1, 1000), rnd.nextLong(1, 1 << 20),
        rnd.nextInt(0, 1 << 20), BlockKind.ofId(rnd.nextInt(3)));
  }

  @Test
  void replicasAreDistinctMembersAndCapped() {
    Ring ring = newRing(1, peers(5));
    int size = ring.members().size();
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < 2000; i++) {
      BlockRef ref = ref(rnd);
      List<String> p = ring.peers(ref, 4);
      assertThat(p).hasSize(Math.min(4, size)).doesNotHaveDuplicates();
      assertThat(ring.members()).extracting(RingPeer::id).containsAll(p);
      assertThat(ring.peers(ref, 16)).hasSize(size).startsWith(p.toArray(new String[0]));
      assertThat(ring.readPeers(ref, 4)).startsWith(p.toArray(new String[0]));
    }
  }

  @Test
  void placementIsAPureFunction() {
    Ring a = newRing(1, peers(5));
    List<RingPeer> reversed = new ArrayList<>(peers(5));
    java.util.Collections.reverse(reversed);
    Ring b = RingCodec.decode(RingCodec.encode(newRing(1, reversed)));
    SplittableRandom rnd = new SplittableRandom(2);
    for (int i = 0; i < 1000; i++) {
      BlockRef ref = ref(rnd);
      assertThat(b.peers(ref, 3)).isEqualTo(a.peers(ref, 3));
    }
  }

  @Test
  void roundTripsAndBumpsVersion() {
    Ring ring = newRing(5, peers(4));
    Ring next = ring.withVersion(6);
    assertThat(next.version()).isEqualTo(6);
    assertThat(next.members()).isEqualTo(ring.members());
    Ring back = RingCodec.decode(RingCodec.encode(next));
    assertThat(back.type()).isEqualTo(ring.type());
    assertThat(RingCodec.encode(back)).isEqualTo(RingCodec.encode(next));
  }

  @Test
  void everyMemberIsUsed() {
    Ring ring = newRing(1, peers(4));
    SplittableRandom rnd = new SplittableRandom(3);
    var used = new HashSet<String>();
    for (int i = 0; i < 5000; i++) {
      used.add(ring.peers(ref(rnd), 1).get(0));
    }
    assertThat(used).hasSize(ring.members().size());
  }
}
