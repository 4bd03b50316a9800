package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Balance and stability of the ketama ring for 3 to 200 peers. Shares are measured exactly
 * (arc lengths of the hash circle), moves by placing 100 000 refs on both rings.
 */
class KetamaRingPropertiesTest {

  private static List<RingPeer> peers(int n, long seed, boolean weighted) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<RingPeer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long weight = weighted ? (1L << 30) * rnd.nextInt(1, 5) : 1L << 30;
      out.add(new RingPeer("peer-" + Long.toHexString(rnd.nextLong()), weight));
    }
    return out;
  }

  @Property(tries = 12)
  void shareIsWithinTenPercentOfWeight(@ForAll @IntRange(min = 3, max = 200) int n,
      @ForAll long seed, @ForAll boolean weighted) {
    KetamaRing ring = new KetamaRing(1, peers(n, seed, weighted));
    double total = ring.members().stream().mapToLong(RingPeer::weight).sum();
    double[] shares = ring.primaryShares();
    double sum = 0;
    for (int i = 0; i < shares.length; i++) {
      double expected = ring.members().get(i).weight() / total;
      assertThat(shares[i] / expected).as("peer %d of %d", i, n).isBetween(0.9, 1.1);
      sum += shares[i];
    }
    assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Property(tries = 12)
  void addingOnePeerMovesAtMostItsShare(@ForAll @IntRange(min = 3, max = 200) int n,
      @ForAll long seed) {
    List<RingPeer> before = peers(n, seed, false);
    List<RingPeer> after = new ArrayList<>(before);
    after.add(new RingPeer("peer-added", 1L << 30));
    Ring a = new KetamaRing(1, before);
    Ring b = new KetamaRing(2, after);
    SplittableRandom rnd = new SplittableRandom(seed);
    int samples = 100_000;
    int movedPrimaries = 0;
    int movedCopies = 0;
    for (int i = 0; i < samples; i++) {
      BlockRef ref = new BlockRef(rnd.nextLong(1, 1 << 30), rnd.nextLong(1, 1 << 30),
          rnd.nextInt(1 << 30), BlockKind.DATA);
      List<String> pa = a.peers(ref, 2);
      List<String> pb = b.peers(ref, 2);
      if (!pa.get(0).equals(pb.get(0))) {
        movedPrimaries++;
        assertThat(pb.get(0)).isEqualTo("peer-added");
      }
      for (String p : pb) {
        if (!pa.contains(p)) {
          movedCopies++;
          assertThat(p).isEqualTo("peer-added");
        }
      }
    }
    double bound = 1.2 / (n + 1);
    assertThat((double) movedPrimaries / samples).isLessThanOrEqualTo(bound);
    assertThat((double) movedCopies / (2.0 * samples)).isLessThanOrEqualTo(bound);
  }

  @Property(tries = 30)
  void replicasAreDistinct(@ForAll @IntRange(min = 1, max = 40) int n,
      @ForAll @IntRange(min = 1, max = 16) int r, @ForAll long seed) {
    Ring ring = new KetamaRing(1, peers(n, seed, true), 64);
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < 200; i++) {
      BlockRef ref = new BlockRef(rnd.nextLong(1, 100), rnd.nextLong(1, 100),
          rnd.nextInt(1000), BlockKind.DATA);
      assertThat(ring.peers(ref, r)).hasSize(Math.min(n, r)).doesNotHaveDuplicates();
    }
  }
}
