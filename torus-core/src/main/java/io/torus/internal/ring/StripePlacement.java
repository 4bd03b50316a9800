package io.torus.internal.ring;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the shards of an erasure-coded stripe live: one peer per shard, chosen position by
 * position. Position {@code i} of stripe {@code s} has a key of its own (the replicated-form
 * ref of sequence {@code s.start + i}, kind DATA for data positions and PARITY for parity
 * ones); its owner is the first peer in the ring's order for that key that no lower position
 * took. A peer joining or leaving therefore moves about the positions it takes or held, not
 * every position after it (placing all shards by one key's order would shift them all).
 * The peers that own no shard of the stripe, in the ring's order for the stripe's name
 * ({@link BlockRef#stripe()}), are its fallbacks: a shard whose peer is down goes to the
 * first of them that is up, and reads look there after the owner.
 *
 * <p>A ring with fewer than {@code k + m} members places shard {@code i} on the owner of
 * position {@code i mod size}: reads of stripes written to a larger ring find their shards
 * there once the rebalancer moved them, and writers refuse to write a stripe until the ring
 * is large enough.
 */
public final class StripePlacement {
  private StripePlacement() {}

  /**
   * Where to write {@code shard}: its own peer, then up to {@code n - 1} of its stripe's
   * fallbacks.
   */
  public static List<String> peers(Ring ring, BlockRef shard, int n) {
    List<String> owners = owners(ring, shard);
    List<String> out = new ArrayList<>(n);
    out.add(owners.get(shard.shardIndex()));
    if (n > 1) {
      int width = owners.size();
      for (String p : ring.peers(shard.stripe(), width + n - 1)) {
        if (out.size() == n) {
          break;
        }
        if (!owners.contains(p)) {
          out.add(p);
        }
      }
    }
    return out;
  }

  /** The peers of every shard of a stripe, in shard order (one peer each). */
  public static List<String> owners(Ring ring, BlockRef anyShard) {
    int k = anyShard.dataShards();
    int width = k + anyShard.parityShards();
    int start = anyShard.stripeStart();
    int size = ring.members().size();
    List<String> out = new ArrayList<>(width);
    for (int i = 0; i < width; i++) {
      if (i >= size) {
        out.add(out.get(i % size));
        continue;
      }
      BlockRef key = new BlockRef(anyShard.volumeId(), anyShard.generation(), start + i,
          i < k ? BlockKind.DATA : BlockKind.PARITY);
      for (String p : ring.peers(key, i + 1)) { // i + 1 distinct peers: one is not taken
        if (!out.contains(p)) {
          out.add(p);
          break;
        }
      }
    }
    return out;
  }

  /** Whether the ring has a peer of its own for each of the stripe's shards. */
  public static boolean fits(Ring ring, int width) {
    return ring.members().size() >= width;
  }
}
