package io.torus.internal.gc;

import io.torus.BlockRef;
import io.torus.VolumeInfo;
import io.torus.internal.map.BlockMap;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What garbage collection must keep: every block reachable from a head (and, once the
 * metadata service has them, every snapshot), per live volume the generation of its committed
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
    List<VolumeInfo> volumes = meta.volumes();
    for (VolumeInfo v : volumes) {
      Head head = meta.head(v.id());
      live.maxVolumeId = Math.max(live.maxVolumeId, v.id());
      live.committedGeneration.put(v.id(), head.generation());
      live.mark(reader, head.root());
    }
    for (BlockRef root : extraRoots) {
      live.mark(reader, root);
    }
    return live;
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
