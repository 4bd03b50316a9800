package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the shards of an erasure-coded stripe live. The ring orders peers for the stripe's
 * name ({@link BlockRef#stripe()}) as for any block; shard {@code i} of the stripe belongs to
 * the {@code i}-th of them, so the {@code k + m} shards of a stripe are on {@code k + m}
 * distinct peers whenever the ring has that many. The peers after the first {@code k + m}
 * are the stripe's fallbacks, shared by its shards, in order: a shard whose peer is down goes
 * to the first fallback not holding another shard of the stripe, so a stripe never has two
 * shards on one peer by fail-over.
 *
 * <p>A ring with fewer than {@code k + m} members places shard {@code i} on peer
 * {@code i mod size}: reads of stripes written to a larger ring find their shards there, and
 * writers refuse to write a stripe until the ring is large enough.
 */
public final class StripePlacement {
  private StripePlacement() {}

  /**
   * Where to write {@code shard}: its own peer, then up to {@code n - 1} of its stripe's
   * fallbacks.
   */
  public static List<String> peers(Ring ring, BlockRef shard, int n) {
    int width = shard.dataShards() + shard.parityShards();
    List<String> all = ring.peers(shard.stripe(), width + Math.max(0, n - 1));
    List<String> out = new ArrayList<>(Math.min(n, all.size()));
    out.add(all.get(shard.shardIndex() % all.size()));
    for (int i = width; i < all.size() && out.size() < n; i++) {
      out.add(all.get(i));
    }
    return out;
  }

  /** The peers of every shard of a stripe, in shard order (one peer each). */
  public static List<String> owners(Ring ring, BlockRef anyShard) {
    int width = anyShard.dataShards() + anyShard.parityShards();
    List<String> all = ring.peers(anyShard.stripe(), width);
    List<String> out = new ArrayList<>(width);
    for (int i = 0; i < width; i++) {
      out.add(all.get(i % all.size()));
    }
    return out;
  }

  /** Whether the ring has a peer of its own for each of the stripe's shards. */
  public static boolean fits(Ring ring, int width) {
    return ring.members().size() >= width;
  }
}
