package io.torus.internal.map;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * The block map as a copy-on-write B+-tree of version 2 nodes ({@link MapNode#SORTED}): keys
 * are block indexes, a node holds up to {@link MapNode#CAPACITY} entries whatever indexes
 * they are, so the map's size follows the blocks written, not how far apart they lie (a
 * radix tree spends a leaf on every 1024-block range touched: one leaf per block for sparse
 * writes).
 *
 * <p>Entry {@code i} of an inner node points at a child holding only keys in {@code
 * [key(i), key(i+1))}. Every leaf is at level 0 and the tree is balanced: {@link #apply}
 * splits a node that outgrows its capacity into equal parts (or, when every change lies past
 * its last key, into full nodes and a remainder, so sequential writes fill their leaves),
 * merges a changed node that fell under a quarter of the capacity into a neighbour when the
 * two fit in three quarters, adds a root when the old one split and drops a root left with
 * one child. A flush of {@code d} changes rewrites at most {@code d} paths.
 */
final class SortedTree {
  private static final int CAP = MapNode.CAPACITY;
  private static final int MERGE_BELOW = CAP / 4;
  private static final int MERGE_UP_TO = CAP * 3 / 4;

  private SortedTree() {}

  /**
   * A child in the making: either an unchanged subtree ({@code ref}) or a new node not yet
   * written ({@code node}), with the lowest key it stands for.
   */
  private record Piece(long key, BlockRef ref, MapNode node) {}

  static BlockRef lookup(BlockMap.NodeReader reader, MapNode node, long index) {
    while (true) {
      int i = node.floorIndex(index);
      if (i < 0) {
        return null;
      }
      if (node.level() == 0) {
        return node.keyAt(i) == index ? node.refAt(i) : null;
      }
      node = read(reader, node.refAt(i), node.level() - 1);
    }
  }

  /** The leaf whose range holds {@code index}, with that range. */
  static BlockMap.Leaf leafFor(BlockMap.NodeReader reader, MapNode node, long index) {
    long lo = Long.MIN_VALUE;
    long hi = Long.MAX_VALUE;
    while (node.level() > 0) {
      int i = node.floorIndex(index);
      if (i < 0) { // below every key: a hole up to the first
        return new BlockMap.Leaf(null, lo, node.size() == 0 ? hi : node.keyAt(0), 0);
      }
      lo = Math.max(lo, node.keyAt(i));
      if (i + 1 < node.size()) {
        hi = Math.min(hi, node.keyAt(i + 1));
      }
      node = read(reader, node.refAt(i), node.level() - 1);
    }
    return new BlockMap.Leaf(node, lo, hi, 0);
  }

  static BlockRef apply(BlockMap.NodeReader reader, BlockMap.NodeWriter writer, BlockRef root,
      NavigableMap<Long, BlockRef> changes) {
    Map<BlockRef, MapNode> written = new HashMap<>();
    BlockMap.NodeWriter keep = node -> {
      BlockRef ref = writer.write(node);
      written.put(ref, node);
      return ref;
    };
    MapNode top = root == null ? MapNode.empty(MapNode.SORTED, 0) : reader.read(root);
    int level = top.level();
    List<Piece> pieces = update(reader, keep, top, level, changes);
    while (pieces.size() > 1) {
      List<Piece> kids = pieces;
      pieces = pack(keep, level + 1, kids, false);
      level++;
    }
    if (pieces.isEmpty()) {
      return null;
    }
    MapNode node = pieces.get(0).node();
    BlockRef ref = null; // node's, once it is a written one
    while (node.level() > 0 && node.size() == 1) { // a root with one child: the child is root
      ref = node.refAt(0);
      MapNode child = written.get(ref);
      node = child != null ? child : read(reader, ref, node.level() - 1);
    }
    return ref != null ? ref : keep.write(node);
  }

  /**
   * The nodes, not yet written, that replace {@code old} (of {@code level}) once
   * {@code changes} are in; new nodes below them are written.
   */
  private static List<Piece> update(BlockMap.NodeReader reader, BlockMap.NodeWriter writer,
      MapNode old, int level, NavigableMap<Long, BlockRef> changes) {
    int n = old.size();
    boolean tail = n == 0 || changes.firstKey() > old.keyAt(n - 1);
    if (level == 0) {
      MapNode.Builder out = new MapNode.Builder(MapNode.SORTED, 0);
      int i = 0;
      for (Map.Entry<Long, BlockRef> c : changes.entrySet()) {
        long key = c.getKey();
        while (i < n && old.keyAt(i) < key) {
          out.add(old.keyAt(i), old.refAt(i));
          i++;
        }
        if (i < n && old.keyAt(i) == key) {
          i++;
        }
        if (c.getValue() != null) {
          out.add(key, c.getValue());
        }
      }
      for (; i < n; i++) {
        out.add(old.keyAt(i), old.refAt(i));
      }
      return split(out, tail);
    }
    List<Piece> kids = new ArrayList<>(n + 4);
    if (n == 0) {
      kids.addAll(update(reader, writer, MapNode.empty(MapNode.SORTED, level - 1), level - 1,
          changes));
    }
    for (int i = 0; i < n; i++) {
      long lo = old.keyAt(i);
      NavigableMap<Long, BlockRef> group = n == 1 ? changes
          : i == 0 ? changes.headMap(old.keyAt(1), false)
          : i == n - 1 ? changes.tailMap(lo, true)
          : changes.subMap(lo, true, old.keyAt(i + 1), false);
      if (group.isEmpty()) {
        kids.add(new Piece(lo, old.refAt(i), null));
        continue;
      }
      List<Piece> got = update(reader, writer, read(reader, old.refAt(i), level - 1),
          level - 1, group);
      for (int j = 0; j < got.size(); j++) {
        Piece g = got.get(j);
        long key = j > 0 ? g.key() : i == 0 ? Math.min(lo, g.key()) : lo;
        kids.add(new Piece(key, null, g.node()));
      }
    }
    mergeSmall(reader, level - 1, kids);
    return pack(writer, level, kids, tail);
  }

  /**
   * Merges each new node that fell under a quarter of the capacity into a neighbour when the
   * two fit in three quarters. Unchanged neighbours are read; new ones are at hand.
   */
  private static void mergeSmall(BlockMap.NodeReader reader, int level, List<Piece> kids) {
    for (int j = 0; j < kids.size(); j++) {
      Piece p = kids.get(j);
      if (p.node() == null || p.node().size() >= MERGE_BELOW || kids.size() == 1) {
        continue;
      }
      int left = j > 0 ? j - 1 : j;
      Piece a = kids.get(left);
      Piece b = kids.get(left + 1);
      MapNode an = a.node() != null ? a.node() : read(reader, a.ref(), level);
      MapNode bn = b.node() != null ? b.node() : read(reader, b.ref(), level);
      if (an.size() + bn.size() > MERGE_UP_TO) {
        continue;
      }
      MapNode.Builder m = new MapNode.Builder(MapNode.SORTED, level);
      for (MapNode x : new MapNode[] {an, bn}) {
        for (int i = 0; i < x.size(); i++) {
          m.add(x.keyAt(i), x.refAt(i));
        }
      }
      kids.set(left, new Piece(a.key(), null, m.build()));
      kids.remove(left + 1);
      j = left - 1; // look at the merged node again
    }
  }

  /**
   * Writes the new nodes among {@code kids} and packs them all into new nodes of
   * {@code level}.
   */
  private static List<Piece> pack(BlockMap.NodeWriter writer, int level, List<Piece> kids,
      boolean tail) {
    MapNode.Builder out = new MapNode.Builder(MapNode.SORTED, level);
    for (Piece p : kids) {
      out.add(p.key(), p.ref() != null ? p.ref() : writer.write(p.node()));
    }
    return split(out, tail);
  }

  /**
   * The built entries as new nodes of at most the capacity: equal parts, or full nodes and a
   * remainder when {@code tail}.
   */
  private static List<Piece> split(MapNode.Builder out, boolean tail) {
    int n = out.size();
    if (n == 0) {
      return List.of();
    }
    int parts = (n + CAP - 1) / CAP;
    List<Piece> pieces = new ArrayList<>(parts);
    for (int p = 0, from = 0; p < parts; p++) {
      int to = tail ? Math.min(n, from + CAP) : (int) ((long) n * (p + 1) / parts);
      pieces.add(new Piece(out.keyAt(from), null, out.build(from, to)));
      from = to;
    }
    return pieces;
  }

  static void allocated(BlockMap.NodeReader reader, MapNode node, long from, long to,
      BlockMap.IndexConsumer out) {
    int first = Math.max(0, node.floorIndex(from));
    for (int i = node.level() == 0 ? node.ceilingIndex(from) : first; i < node.size(); i++) {
      long key = node.keyAt(i);
      if (key >= to) {
        return;
      }
      if (node.level() == 0) {
        out.accept(key);
      } else {
        allocated(reader, read(reader, node.refAt(i), node.level() - 1), from, to, out);
      }
    }
  }

  private static MapNode read(BlockMap.NodeReader reader, BlockRef ref, int level) {
    MapNode node = reader.read(ref);
    if (node.level() != level || node.version() != MapNode.SORTED) {
      throw new CorruptBlockException("map node " + ref + " is a version " + node.version()
          + " node of level " + node.level() + ", expected version 2 and level " + level);
    }
    return node;
  }
}
