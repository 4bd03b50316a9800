package io.torus.internal.gc;

import io.torus.BlockRef;
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
 * <p>Built from a complete metadata listing or not at all: any error reading a volume or a
 * head propagates, and the caller deletes nothing.
 */
final class LiveSet {
  final Set<BlockRef> reachable = new HashSet<>();
  final Map<Long, Long> committedGeneration = new HashMap<>();
  long maxVolumeId;

  static LiveSet read(MetadataService meta, BlockMap.NodeReader reader,
      Collection<BlockRef> extraRoots) {
    LiveSet live = new LiveSet();
    LiveRoots roots;
    try {
      roots = meta.liveRoots();
    } catch (TorusException e) {
      if (e.code() != ErrorCode.ENOTSUP) {
        throw e;
      }
      roots = headsOnly(meta); // a metadata service without snapshots
    }
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

  /** Marks a tree's map nodes and data blocks, skipping subtrees already marked. */
  private void mark(BlockMap.NodeReader reader, BlockRef root) {
    if (root == null || !reachable.add(root)) {
      return;
    }
    var node = reader.read(root);
    for (int i = 0; i < node.size(); i++) {
      BlockRef child = node.refAt(i);
      if (node.level() == 0) {
        reachable.add(child);
      } else {
        mark(reader, child);
      }
    }
  }

  /** Whether {@code ref} may be deleted. */
  boolean isGarbage(BlockRef ref) {
    if (reachable.contains(ref) || ref.volumeId() > maxVolumeId) {
      return false;
    }
    Long committed = committedGeneration.get(ref.volumeId());
    // a live volume keeps its pending generations; a deleted volume keeps nothing
    return committed == null || ref.generation() <= committed;
  }
}
