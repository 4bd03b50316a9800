package io.torus.internal.gc;

import com.google.common.hash.BloomFilter;
import com.google.common.hash.PrimitiveSink;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.map.BlockMap;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.MetadataService;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What garbage collection must keep: every block reachable from a head or a snapshot (of any
 * volume: clones share their origin's blocks), per live volume the generation of its committed
 * head (blocks above it are pending and kept), and the highest volume id known when the
 * metadata was read (blocks of higher ids belong to volumes created since, and are kept).
 *
 * <p><b>Memory.</b> Map nodes are kept exactly (one per 1 024 entries: small, and marking
 * must never skip a subtree it has not seen). Data refs are kept exactly too while the
 * volumes can address at most {@link #EXACT_LIMIT} blocks (about 100 MiB of set); past
 * that they go into a Bloom filter sized for the data the roots can address, about 10 bits
 * a ref: a false positive (1 %) only keeps a garbage block one more cycle (each cycle draws
 * a new seed, so the same block is not kept twice in a row but by chance), never deletes a
 * live one. So a collector over a 1 TiB volume holds megabytes, not a set of every ref.
 *
 * <p><b>Stripes.</b> A live erasure-coded data block is marked by its stripe's name
 * ({@link BlockRef#stripe}), so every shard of a stripe with a live block is kept.
 *
 * <p>Built from a complete metadata listing or not at all: any error reading a volume or a
 * head propagates, and the caller deletes nothing.
 */
final class LiveSet {
  /** Bloom filter false-positive rate at its expected size. */
  private static final double FALSE_POSITIVES = 0.01;
  /** The most data refs a filter is sized for (about 115 MiB); more only raise its rate. */
  private static final long MAX_EXPECTED = 96L << 20;

  private final Set<BlockRef> nodes = new HashSet<>();
  /** Refs up to which data refs are kept in an exact set. */
  static final long EXACT_LIMIT = 1L << 20;

  private final BloomFilter<BlockRef> data; // null: exact
  private final Set<BlockRef> exactData = new HashSet<>();
  /** The stripes of the erasure-coded refs of {@link #exactData}. */
  private final Set<BlockRef> exactStripes = new HashSet<>();
  private final long seed = java.util.concurrent.ThreadLocalRandom.current().nextLong();
  private long dataMarked;
  final Map<Long, Long> committedGeneration = new HashMap<>();
  long maxVolumeId;

  private LiveSet(long expectedData) {
    this.data = expectedData <= EXACT_LIMIT ? null : BloomFilter.create(this::funnel,
        Math.min(MAX_EXPECTED, expectedData), FALSE_POSITIVES);
  }

  private void funnel(BlockRef ref, PrimitiveSink into) {
    into.putLong(seed).putLong(ref.volumeId()).putLong(ref.generation())
        .putInt(ref.sequence()).putByte((byte) ref.kind().id());
  }

  /**
   * Refs marked live: map nodes plus data refs (exact; past {@link #EXACT_LIMIT} a data ref
   * shared by several roots counts once per root).
   */
  long marked() {
    return nodes.size() + (data == null ? exactData.size() : dataMarked);
  }

  static LiveSet read(MetadataService meta, BlockMap.NodeReader reader,
      Collection<BlockRef> extraRoots) {
    LiveRoots roots;
    try {
      roots = meta.liveRoots();
    } catch (TorusException e) {
      if (e.code() != ErrorCode.ENOTSUP) {
        throw e;
      }
      roots = headsOnly(meta); // a metadata service without snapshots
    }
    LiveSet live = new LiveSet(addressable(meta));
    for (LiveRoots.LiveRoot r : roots.roots()) {
      live.maxVolumeId = Math.max(live.maxVolumeId, r.volumeId());
      if (r.isHead()) {
        live.committedGeneration.put(r.volumeId(), r.generation());
      }
      live.mark(reader, r.root());
    }
    for (BlockRef root : extraRoots) {
      live.mark(reader, root);
    }
    return live;
  }

  private static LiveRoots headsOnly(MetadataService meta) {
    List<LiveRoots.LiveRoot> heads = new ArrayList<>();
    for (VolumeInfo v : meta.volumes()) {
      Head h = meta.head(v.id());
      heads.add(new LiveRoots.LiveRoot(v.id(), v.name(), null, h.root(), h.generation()));
    }
    return new LiveRoots(0, heads);
  }

  /** Blocks every volume can address (an upper bound of the live data refs of its roots). */
  private static long addressable(MetadataService meta) {
    long blocks = 0;
    for (VolumeInfo v : meta.volumes()) {
      blocks += v.size() / v.blockSize() + 1;
    }
    return blocks;
  }

  /** Marks a tree's map nodes and data blocks, skipping subtrees already marked. */
  private void mark(BlockMap.NodeReader reader, BlockRef root) {
    if (root == null || !nodes.add(root)) {
      return;
    }
    var node = reader.read(root);
    for (int i = 0; i < node.size(); i++) {
      BlockRef child = node.refAt(i);
      if (node.level() == 0) {
        // an erasure-coded block keeps its whole stripe: its shards rebuild one another
        if (data == null) {
          exactData.add(child);
          if (child.striped()) {
            exactStripes.add(child.stripe());
          }
        } else {
          data.put(child.striped() ? child.stripe() : child);
        }
        dataMarked++;
      } else {
        mark(reader, child);
      }
    }
  }

  private boolean reachable(BlockRef ref) {
    if (ref.striped()) {
      return data == null ? exactStripes.contains(ref.stripe())
          : data.mightContain(ref.stripe());
    }
    return nodes.contains(ref)
        || (data == null ? exactData.contains(ref) : data.mightContain(ref));
  }

  /**
   * Whether {@code ref} may be deleted. A shard of an erasure-coded stripe (data or parity) is
   * garbage only when no data block of its stripe is live.
   */
  boolean isGarbage(BlockRef ref) {
    if (ref.volumeId() > maxVolumeId || reachable(ref)) {
      return false;
    }
    Long committed = committedGeneration.get(ref.volumeId());
    // a live volume keeps its pending generations; a deleted volume keeps nothing
    return committed == null || ref.generation() <= committed;
  }
}
