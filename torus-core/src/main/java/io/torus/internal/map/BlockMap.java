package io.torus.internal.map;

import io.torus.spi.BlockRef;
import java.util.NavigableMap;

/**
 * The copy-on-write map from logical block index to {@link BlockRef}. Stateless: every
 * operation takes the root and reads nodes through a {@link NodeReader}; updates write new
 * nodes through a {@link NodeWriter} and return a new root, never touching the old tree.
 * A hole (an index with no entry) reads as zeros: a 1 TiB volume never written has a null
 * root.
 *
 * <p><b>Formats.</b> A tree is self-describing by its root: new trees are B+-trees of version
 * 2 nodes ({@link SortedTree}: the map's size follows the number of blocks written, about 8
 * bytes each, however sparse); trees written in version 1 ({@link RadixTree}: fan-out 1024,
 * a leaf for every 1024-block range touched) are read and updated as they are, until they
 * are emptied.
 *
 * <p><b>Cost.</b> {@link #apply} rewrites only the nodes on the paths from the root to the
 * changed leaves: a flush of {@code d} dirty blocks writes at most {@code d * height} nodes,
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

  /**
   * A leaf and the block range {@code [lo, hi)} it answers for (a null leaf: all holes);
   * its keys are block indexes minus {@code base}.
   */
  record Leaf(MapNode node, long lo, long hi, long base) {
    boolean holds(long index) {
      return index >= lo && index < hi;
    }

    BlockRef get(long index) {
      return node == null ? null : node.get(index - base);
    }
  }

  /** The ref stored for block {@code index}, or null for a hole. */
  public static BlockRef lookup(NodeReader reader, BlockRef root, long index) {
    if (root == null) {
      return null;
    }
    MapNode top = reader.read(root);
    return top.version() == MapNode.RADIX ? RadixTree.lookup(reader, top, index)
        : SortedTree.lookup(reader, top, index);
  }

  /**
   * Looks up many, mostly nearby, blocks of one tree: remembers the last leaf it went through,
   * so a run of lookups inside one leaf's range walks the tree once. Not thread-safe; use one
   * per operation.
   */
  public static final class Cursor {
    private final NodeReader reader;
    private final BlockRef root;
    private Leaf leaf;

    public Cursor(NodeReader reader, BlockRef root) {
      this.reader = reader;
      this.root = root;
    }

    /** The ref stored for block {@code index}, or null for a hole. */
    public BlockRef lookup(long index) {
      if (root == null) {
        return null;
      }
      if (leaf == null || !leaf.holds(index)) {
        MapNode top = reader.read(root);
        leaf = top.version() == MapNode.RADIX ? RadixTree.leafFor(reader, top, index)
            : SortedTree.leafFor(reader, top, index);
      }
      return leaf.get(index);
    }
  }

  /**
   * Applies {@code changes} (block index to new ref, a null value making a hole) to the tree
   * at {@code root} and returns the new root (null if the tree became empty). A new tree is a
   * version 2 tree.
   *
   * @param blocks the volume's size in blocks (every changed index must be below it)
   */
  public static BlockRef apply(NodeReader reader, NodeWriter writer, BlockRef root,
      long blocks, NavigableMap<Long, BlockRef> changes) {
    if (changes.isEmpty()) {
      return root;
    }
    if (root != null && reader.read(root).version() == MapNode.RADIX) {
      return RadixTree.apply(reader, writer, root, blocks, changes);
    }
    return SortedTree.apply(reader, writer, root, changes);
  }

  /** Like {@link #apply}, but a new tree is a version 1 (radix) tree: for tests of the format. */
  static BlockRef applyRadix(NodeReader reader, NodeWriter writer, BlockRef root, long blocks,
      NavigableMap<Long, BlockRef> changes) {
    if (changes.isEmpty()) {
      return root;
    }
    if (root != null && reader.read(root).version() != MapNode.RADIX) {
      return SortedTree.apply(reader, writer, root, changes);
    }
    return RadixTree.apply(reader, writer, root, blocks, changes);
  }

  /**
   * Reports, in increasing order, every allocated (non-hole) block index in
   * {@code [from, to)}. Skips holes without visiting them.
   */
  public static void allocated(NodeReader reader, BlockRef root, long from, long to,
      IndexConsumer out) {
    if (root == null || from >= to) {
      return;
    }
    MapNode top = reader.read(root);
    if (top.version() == MapNode.RADIX) {
      RadixTree.allocated(reader, top, 0, from, to, out);
    } else {
      SortedTree.allocated(reader, top, from, to, out);
    }
  }
}
