package io.torus.internal.map;

import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import java.util.NavigableMap;

/**
 * The copy-on-write radix tree from logical block index to {@link BlockRef}. Stateless: every
 * operation takes the root and reads nodes through a {@link NodeReader}; updates write new
 * nodes through a {@link NodeWriter} and return a new root, never touching the old tree.
 *
 * <p><b>Shape.</b> Each node has {@link MapNode#FANOUT} slots; a node of level {@code L}
 * covers {@code FANOUT^(L+1)} blocks. The root's level is the smallest that covers the volume
 * (grown by wrapping the old root as slot 0 of a new one when the volume grows). A missing
 * entry, at any level, is a hole: a 1 TiB volume never written has a null root.
 *
 * <p><b>Cost.</b> {@link #apply} rewrites only the nodes on the paths from the root to the
 * changed leaves: a sync of {@code d} dirty blocks writes at most {@code d * height} nodes,
 * however large the volume is.
 */
public final class BlockMap {
  private BlockMap() {}

  /** Reads (usually from a cache) the map node a ref names. */
  @FunctionalInterface
  public interface NodeReader {
    MapNode read(BlockRef ref);
  }

  /** Stores a new map node and returns its ref. */
  @FunctionalInterface
  public interface NodeWriter {
    BlockRef write(MapNode node);
  }

  /** Receives allocated block indexes in increasing order. */
  @FunctionalInterface
  public interface IndexConsumer {
    void accept(long index);
  }

  /** The level of the smallest tree that covers {@code blocks} blocks. */
  public static int levelFor(long blocks) {
    int level = 0;
    while (level < 6 && blocks > (1L << (MapNode.FANOUT_BITS * (level + 1)))) {
      level++;
    }
    return level;
  }

  /** The ref stored for block {@code index}, or null for a hole. */
  public static BlockRef lookup(NodeReader reader, BlockRef root, long index) {
    if (root == null) {
      return null;
    }
    MapNode node = reader.read(root);
    int level = node.level();
    if (level < 6 && (index >>> (MapNode.FANOUT_BITS * (level + 1))) != 0) {
      return null;
    }
    while (true) {
      int slot = (int) ((index >>> (MapNode.FANOUT_BITS * level)) & (MapNode.FANOUT - 1));
      BlockRef ref = node.get(slot);
      if (ref == null || level == 0) {
        return ref;
      }
      node = read(reader, ref, level - 1);
      level--;
    }
  }

  /**
   * Looks up many, mostly nearby, blocks of one tree: remembers the last leaf it went through,
   * so a run of lookups inside one leaf's 1024 blocks walks the tree once. Not thread-safe;
   * use one per operation.
   */
  public static final class Cursor {
    private final NodeReader reader;
    private final BlockRef root;
    private long leafBase = -1;
    private MapNode leaf; // null with leafBase >= 0: the whole leaf range is a hole

    public Cursor(NodeReader reader, BlockRef root) {
      this.reader = reader;
      this.root = root;
    }

    /** The ref stored for block {@code index}, or null for a hole. */
    public BlockRef lookup(long index) {
      if (root == null) {
        return null;
      }
      long base = index >>> MapNode.FANOUT_BITS;
      if (base != leafBase) {
        leaf = leafOf(index);
        leafBase = base;
      }
      return leaf == null ? null : leaf.get((int) (index & (MapNode.FANOUT - 1)));
    }

    private MapNode leafOf(long index) {
      MapNode node = reader.read(root);
      int level = node.level();
      if (level < 6 && (index >>> (MapNode.FANOUT_BITS * (level + 1))) != 0) {
        return null;
      }
      while (level > 0) {
        int slot = (int) ((index >>> (MapNode.FANOUT_BITS * level)) & (MapNode.FANOUT - 1));
        BlockRef ref = node.get(slot);
        if (ref == null) {
          return null;
        }
        node = read(reader, ref, --level);
      }
      return node;
    }
  }

  /**
   * Applies {@code changes} (block index to new ref, a null value making a hole) to the tree
   * at {@code root} and returns the new root (null if the tree became empty).
   *
   * @param blocks the volume's size in blocks (every changed index must be below it)
   */
  public static BlockRef apply(NodeReader reader, NodeWriter writer, BlockRef root,
      long blocks, NavigableMap<Long, BlockRef> changes) {
    if (changes.isEmpty()) {
      return root;
    }
    int want = Math.max(levelFor(blocks), levelFor(changes.lastKey() + 1));
    int level;
    if (root == null) {
      level = want;
    } else {
      level = reader.read(root).level();
      while (level < want) {
        MapNode.Builder wrap = new MapNode.Builder(level + 1);
        wrap.add(0, root);
        root = writer.write(wrap.build());
        level++;
      }
    }
    return update(reader, writer, root, level, 0, changes);
  }

  private static BlockRef update(NodeReader reader, NodeWriter writer, BlockRef ref, int level,
      long base, NavigableMap<Long, BlockRef> changes) {
    MapNode old = ref == null ? MapNode.empty(level) : read(reader, ref, level);
    int shift = MapNode.FANOUT_BITS * level;
    MapNode.Builder out = new MapNode.Builder(level);
    int i = 0;
    Long key = changes.isEmpty() ? null : changes.firstKey();
    while (key != null || i < old.size()) {
      int cslot = key == null ? Integer.MAX_VALUE : (int) ((key - base) >>> shift);
      int oslot = i < old.size() ? old.slotAt(i) : Integer.MAX_VALUE;
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

  /**
   * Reports, in increasing order, every allocated (non-hole) block index in
   * {@code [from, to)}. Skips holes at every level without visiting them.
   */
  public static void allocated(NodeReader reader, BlockRef root, long from, long to,
      IndexConsumer out) {
    if (root == null || from >= to) {
      return;
    }
    MapNode node = reader.read(root);
    walk(reader, node, 0, from, to, out);
  }

  private static void walk(NodeReader reader, MapNode node, long base, long from, long to,
      IndexConsumer out) {
    int level = node.level();
    int shift = MapNode.FANOUT_BITS * level;
    long first = from <= base ? 0 : (from - base) >>> shift;
    if (first >= MapNode.FANOUT) {
      return;
    }
    for (int i = node.ceilingIndex((int) first); i < node.size(); i++) {
      long lo = base + ((long) node.slotAt(i) << shift);
      if (lo >= to) {
        return;
      }
      if (level == 0) {
        out.accept(lo);
      } else {
        walk(reader, read(reader, node.refAt(i), level - 1), lo, from, to, out);
      }
    }
  }

  private static MapNode read(NodeReader reader, BlockRef ref, int level) {
    MapNode node = reader.read(ref);
    if (node.level() != level) {
      throw new CorruptBlockException("map node " + ref + " has level " + node.level()
          + ", expected " + level);
    }
    return node;
  }
}
