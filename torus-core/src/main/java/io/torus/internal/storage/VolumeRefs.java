package io.torus.internal.storage;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
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
    for (BlockRef r : map.tailMap(first(volumeId)).keySet()) {
      if (r.volumeId() != volumeId) {
        break;
      }
      out.add(r);
    }
  }

  /**
   * Up to {@code max} keys of {@code map} that belong to {@code volumeId} and are greater than
   * {@code after} (null: from the volume's first), in order; {@code O(max + log n)}. The map
   * may hold other volumes' refs.
   */
  static List<BlockRef> page(NavigableMap<BlockRef, ?> map, long volumeId, BlockRef after,
      int max) {
    if (max <= 0) {
      throw TorusException.invalid("max <= 0: " + max);
    }
    List<BlockRef> out = new ArrayList<>(Math.min(max, 1024));
    if (volumeId < 0) {
      return out;
    }
    NavigableMap<BlockRef, ?> tail = after == null || after.volumeId() < volumeId
        ? map.tailMap(first(volumeId), true) : map.tailMap(after, false);
    for (BlockRef r : tail.keySet()) {
      if (r.volumeId() != volumeId || out.size() == max) {
        break;
      }
      out.add(r);
    }
    return out;
  }

  /** The smallest ref of a volume. */
  private static BlockRef first(long volumeId) {
    return new BlockRef(volumeId, 1, 0, BlockKind.DATA);
  }
}
