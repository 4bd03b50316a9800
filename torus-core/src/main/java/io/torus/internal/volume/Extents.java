package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import io.torus.Extent;
import io.torus.internal.map.BlockMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Computes a volume's allocation map from its committed tree and the uncommitted changes
 * above it, in time proportional to the allocated blocks and changes in the range (holes
 * are skipped, never enumerated).
 */
final class Extents {
  private Extents() {}

  static List<Extent> of(BlockMap.NodeReader reader, BlockRef root, Map<Long, Entry> journaled,
      Map<Long, Entry> frozen, Map<Long, Entry> dirty, long offset, long length, int shift) {
    List<Extent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    long end = offset + length;
    long first = offset >>> shift;
    long last = ((end - 1) >>> shift) + 1; // exclusive
    NavigableMap<Long, Boolean> overrides = new TreeMap<>();
    collect(journaled, first, last, overrides);
    collect(frozen, first, last, overrides);
    collect(dirty, first, last, overrides);
    List<long[]> runs = new ArrayList<>(); // committed allocated runs [start, end)
    BlockMap.allocated(reader, root, first, last, index -> {
      long[] tail = runs.isEmpty() ? null : runs.get(runs.size() - 1);
      if (tail != null && tail[1] == index) {
        tail[1] = index + 1;
      } else {
        runs.add(new long[] {index, index + 1});
      }
    });
    int r = 0;
    long index = first;
    while (index < last) {
      while (r < runs.size() && runs.get(r)[1] <= index) {
        r++;
      }
      boolean inRun = r < runs.size() && runs.get(r)[0] <= index;
      long stop = r >= runs.size() ? last : inRun ? runs.get(r)[1] : runs.get(r)[0];
      Boolean override = overrides.get(index);
      boolean allocated;
      if (override != null) {
        allocated = override;
        stop = index + 1;
      } else {
        allocated = inRun;
        Long nextOverride = overrides.higherKey(index);
        if (nextOverride != null) {
          stop = Math.min(stop, nextOverride);
        }
      }
      stop = Math.min(stop, last);
      long from = Math.max(index << shift, offset);
      long to = Math.min(stop << shift, end);
      append(out, from, to - from, !allocated);
      index = stop;
    }
    return out;
  }

  private static void collect(Map<Long, Entry> changes, long first, long last,
      NavigableMap<Long, Boolean> into) {
    for (Map.Entry<Long, Entry> e : changes.entrySet()) {
      long k = e.getKey();
      if (k >= first && k < last) {
        into.put(k, e.getValue() != Entry.HOLE);
      }
    }
  }

  private static void append(List<Extent> out, long offset, long length, boolean hole) {
    if (!out.isEmpty()) {
      Extent tail = out.get(out.size() - 1);
      if (tail.hole() == hole) {
        out.set(out.size() - 1, new Extent(tail.offset(), tail.length() + length, hole));
        return;
      }
    }
    out.add(new Extent(offset, length, hole));
  }
}
