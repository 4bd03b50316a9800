package io.torus.internal.storage;

import io.torus.BlockKind;
import io.torus.BlockRef;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;

/** Range scans over maps ordered by {@link BlockRef}, whose refs sort by volume first. */
final class VolumeRefs {
  private VolumeRefs() {}

  /** Adds the keys of {@code map} that belong to {@code volumeId} to {@code out}. */
  static void collect(ConcurrentSkipListMap<BlockRef, ?> map, long volumeId,
      List<BlockRef> out) {
    if (volumeId < 0) {
      return;
    }
    for (BlockRef r : map.tailMap(new BlockRef(volumeId, 1, 0, BlockKind.DATA)).keySet()) {
      if (r.volumeId() != volumeId) {
        break;
      }
      out.add(r);
    }
  }
}
