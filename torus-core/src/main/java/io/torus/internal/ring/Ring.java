package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import java.util.List;

/**
 * Placement: a pure function from a {@link BlockRef} to an ordered list of distinct peers.
 * The first {@code R} peers of {@link #peers} hold a block replicated {@code R} times; the
 * ones after them are the fallbacks, in order, used while a replica is down.
 *
 * <p>A shard of an erasure-coded stripe ({@link BlockRef#striped}) is placed by
 * {@link StripePlacement}: {@link #peers} gives its own peer, then the stripe's fallbacks.
 *
 * <p>Implementations are immutable and thread-safe, and deterministic across JVMs and
 * versions: the same ring (equal {@link RingCodec} bytes) places every ref on the same peers.
 * A ring change is a new ring with a higher {@link #version()}.
 */
public interface Ring {

  /** The kind of ring. */
  RingType type();

  /** Monotonic version; every change of the ring stored in the cluster increments it. */
  long version();

  /** The members, in the ring's canonical order (sorted by id), never empty. */
  List<RingPeer> members();

  /**
   * Where to write {@code ref}: up to {@code n} distinct peer ids in preference order (fewer
   * when the ring has fewer members).
   *
   * @param n how many peers, {@code >= 1}
   */
  List<String> peers(BlockRef ref, int n);

  /**
   * Where to look for {@code ref}: the write peers first, then any other peer that may hold it
   * (a union ring adds the old ring's peers). Default: {@link #peers}.
   */
  default List<String> readPeers(BlockRef ref, int n) {
    return peers(ref, n);
  }

  /** This ring with version {@code version}; everything else equal. */
  Ring withVersion(long version);
}
