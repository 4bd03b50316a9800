package io.torus.internal.map;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockRef;
import java.util.NavigableMap;

/**
 * The block map as a copy-on-write radix tree of version 1 nodes ({@link MapNode#RADIX}),
 * the format of the maps written before the B+-tree ({@link SortedTree}); such maps keep it
 * for as long as they are not emptied.
 *
 * <p>Each node has {@link MapNode#FANOUT} slots; a node of level {@code L} covers
 * {@code FANOUT^(L+1)} blocks. The root's level is the smallest that covers the volume (grown
 * by wrapping the old root as slot 0 of a new one when the volume grows). A missing entry, at
 * any level, is a hole. An update rewrites only the nodes on the paths from the root to the
 * changed leaves.
 */
final class RadixTree {
  private RadixTree() {}

  /** The level of the smallest tree that covers {@code blocks} blocks. */
  static int levelFor(long blocks) {
    int level = 0;
    while (level < 6 && blocks > (1L << (MapNode.FANOUT_BITS * (level + 1)))) {
      level++;
    }
    return level;
  }

  private static int slot(long index, int level) {
    return (int) ((index >>> (MapNode.FANOUT_BITS * level)) & (MapNode.FANOUT - 1));
  }

  private static boolean covers(MapNode root, long index) {
    int level = root.level();
    return level >= 6 || (index >>> (MapNode.FANOUT_BITS * (level + 1))) == 0;
  }

  static BlockRef lookup(BlockMap.NodeReader reader, MapNode node, long index) {
    if (!covers(node, index)) {
      return null;
    }
    int level = node.level();
    while (true) {
      BlockRef ref = node.get(slot(index, level));
      if (ref == null || level == 0) {
        return ref;
      }
      node = read(reader, ref, --level);
    }
  }

  /** The leaf whose 1024 blocks hold {@code index}, with its range. */
  static BlockMap.Leaf leafFor(BlockMap.NodeReader reader, MapNode node, long index) {
    long lo = index & -MapNode.FANOUT;
    long hi = lo + MapNode.FANOUT;
    if (!covers(node, index)) {
      return new BlockMap.Leaf(null, lo, hi, lo);
    }
    int level = node.level();
    while (level > 0) {
      BlockRef ref = node.get(slot(index, level));
      if (ref == null) {
        return new BlockMap.Leaf(null, lo, hi, lo);
      }
      node = read(reader, ref, --level);
    }
    return new BlockMap.Leaf(node, lo, hi, lo);
  }

  static BlockRef apply(BlockMap.NodeReader reader, BlockMap.NodeWriter writer, BlockRef root,
      long blocks, NavigableMap<Long, BlockRef> changes) {
    int want = Math.max(levelFor(blocks), levelFor(changes.lastKey() + 1));
    int level;
    if (root == null) {
      level = want;
    } else {
      level = reader.read(root).level();
      while (level < want) {
        MapNode.Builder wrap = new MapNode.Builder(MapNode.RADIX, level + 1);
        wrap.add(0, root);
        root = writer.write(wrap.build());
        level++;
      }
    }
    return update(reader, writer, root, level, 0, changes);
  }

  private static BlockRef update(BlockMap.NodeReader reader, BlockMap.NodeWriter writer,
      BlockRef ref, int level, long base, NavigableMap<Long, BlockRef> changes) {
    MapNode old = ref == null ? MapNode.empty(MapNode.RADIX, level) : read(reader, ref, level);
    int shift = MapNode.FANOUT_BITS * level;
    MapNode.Builder out = new MapNode.Builder(MapNode.RADIX, level);
    int i = 0;
    Long key = changes.isEmpty() ? null : changes.firstKey();
    while (key != null || i < old.size()) {
      int cslot = key == null ? Integer.MAX_VALUE : (int) ((key - base) >>> shift);
      int oslot = i < old.size() ? (int) old.keyAt(i) : Integer.MAX_VALUE;
      if (oslot < cslot) {
        out.add(oslot, old.refAt(i++));
        continue;
      }
      BlockRef prior = oslot == cslot ? old.refAt(i++) : null;
      BlockRef next;
      if (level == 0) {
        next = changes.get(key);
        key = changes.higherKey(key);
      } else {
        long lo = base + ((long) cslot << shift);
        long hi = lo + (1L << shift);
        NavigableMap<Long, BlockRef> group = changes.subMap(lo, true, hi, false);
        next = update(reader, writer, prior, level - 1, lo, group);
        key = changes.ceilingKey(hi);
      }
      if (next != null) {
        out.add(cslot, next);
      }
    }
    return out.isEmpty() ? null : writer.write(out.build());
  }

  static void allocated(BlockMap.NodeReader reader, MapNode node, long base, long from,
      long to, BlockMap.IndexConsumer out) {
    int level = node.level();
    int shift = MapNode.FANOUT_BITS * level;
    long first = from <= base ? 0 : (from - base) >>> shift;
    if (first >= MapNode.FANOUT) {
      return;
    }
    for (int i = node.ceilingIndex(first); i < node.size(); i++) {
      long lo = base + (node.keyAt(i) << shift);
      if (lo >= to) {
        return;
      }
      if (level == 0) {
        out.accept(lo);
      } else {
        allocated(reader, read(reader, node.refAt(i), level - 1), lo, from, to, out);
      }
    }
  }

  private static MapNode read(BlockMap.NodeReader reader, BlockRef ref, int level) {
    MapNode node = reader.read(ref);
    if (node.level() != level || node.version() != MapNode.RADIX) {
      throw new CorruptBlockException("map node " + ref + " is a version " + node.version()
          + " node of level " + node.level() + ", expected version 1 and level " + level);
    }
    return node;
  }
}
