package io.torus.internal.peer;

import io.torus.internal.transport.ListPage;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The merge of ordered pages of a volume's refs from several stores (each from
 * {@link BlockStore#list(long, BlockRef, int)}) into one page of distinct refs.
 *
 * <p>Cost: {@code O(n log k)} for {@code n} refs from {@code k} stores. Pure; thread-safe.
 */
final class OrderedPages {
  private OrderedPages() {}

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
