package io.torus.internal.transport;

import io.torus.BlockRef;
import io.torus.spi.BlockStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Ordered pages of a volume's refs over several stores: one ordered page per store, merged.
 *
 * <p>Cost: a page of {@code n} refs from a store keeps at most {@code n} refs in memory (a
 * bounded heap over the store's unordered {@link BlockStore#forEach}); the merge is
 * {@code O(n log k)} for {@code k} stores. Pure apart from the store reads; thread-safe.
 */
final class OrderedPages {
  private OrderedPages() {}

  /** The first {@code n} refs of the volume in {@code store} after {@code after}, ascending. */
  static List<BlockRef> page(BlockStore store, long volumeId, BlockRef after, int n) {
    PriorityQueue<BlockRef> largestFirst = new PriorityQueue<>(Collections.reverseOrder());
    store.forEach(volumeId, r -> {
      if (after != null && r.compareTo(after) <= 0) {
        return;
      }
      if (largestFirst.size() < n) {
        largestFirst.add(r);
      } else if (r.compareTo(largestFirst.peek()) < 0) {
        largestFirst.poll();
        largestFirst.add(r);
      }
    });
    List<BlockRef> out = new ArrayList<>(largestFirst);
    Collections.sort(out);
    return out;
  }

  /**
   * Merges ascending pages (each holding more than {@code max} refs if its store has more)
   * into one page of at most {@code max} distinct refs; {@code more} if any ref is left.
   */
  static ListPage merge(List<List<BlockRef>> pages, int max) {
    record Cursor(List<BlockRef> refs, int at) {}
    PriorityQueue<Cursor> heads = new PriorityQueue<>(
        (a, b) -> a.refs().get(a.at()).compareTo(b.refs().get(b.at())));
    for (List<BlockRef> p : pages) {
      if (!p.isEmpty()) {
        heads.add(new Cursor(p, 0));
      }
    }
    List<BlockRef> out = new ArrayList<>(Math.min(max, 1024));
    while (!heads.isEmpty()) {
      Cursor c = heads.poll();
      BlockRef r = c.refs().get(c.at());
      if (out.isEmpty() || !out.get(out.size() - 1).equals(r)) {
        if (out.size() == max) {
          return new ListPage(out, true);
        }
        out.add(r);
      }
      if (c.at() + 1 < c.refs().size()) {
        heads.add(new Cursor(c.refs(), c.at() + 1));
      }
    }
    return new ListPage(out, false);
  }
}
