package io.torus;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * One page of a listing (volumes, snapshots of a volume, peers), in name order: the entries
 * whose names come strictly after a given name, at most a given number of them, and whether
 * more follow. Read the next page by passing {@link #next()} as the {@code after} of the same
 * listing; repeat until it is null. Every page is one consistent picture of the cluster (on
 * etcd: read at one revision), but two pages may be read at different times: an entry created
 * or deleted between them shows in a later page or not, and an entry never shows twice.
 *
 * <p>Name order is the order of {@link String#compareTo}, the order the whole-list methods
 * sort by (names are ASCII, so it is also byte order). The name {@code after} need not
 * exist.
 *
 * @param items the entries, in name order; at most the limit asked for (fewer only at the
 *     end of the listing, or where an entry vanished while the page was read)
 * @param next the name to pass as {@code after} for the next page (the last entry's), or
 *     null if no entry follows this page
 * @param <T> the kind of entry
 */
public record Page<T>(List<T> items, String next) {
  /** The largest number of entries a page may be asked for. */
  public static final int MAX_LIMIT = 10_000;

  /** Copies the entries. */
  public Page {
    items = List.copyOf(items);
  }

  /** Whether more entries follow: {@link #next()} is not null. */
  public boolean hasMore() {
    return next != null;
  }

  /** Throws {@link TorusException} (EINVAL) unless {@code limit} is 1 to {@link #MAX_LIMIT}. */
  public static int checkLimit(int limit) {
    if (limit < 1 || limit > MAX_LIMIT) {
      throw TorusException.invalid("page limit must be 1 to " + MAX_LIMIT + ": " + limit);
    }
    return limit;
  }

  /**
   * The page of {@code sorted} (already in name order by {@code name}) after {@code after}
   * (null: from the start) of at most {@code limit} entries: for listings kept in memory.
   * Finds the start by binary search; costs O(log n + limit).
   *
   * @throws TorusException EINVAL for a bad limit
   */
  public static <T> Page<T> of(List<T> sorted, Function<? super T, String> name, String after,
      int limit) {
    Objects.requireNonNull(name, "name");
    checkLimit(limit);
    int from = 0;
    if (after != null) {
      int lo = 0;
      int hi = sorted.size();
      while (lo < hi) { // the first entry whose name is > after
        int mid = (lo + hi) >>> 1;
        if (name.apply(sorted.get(mid)).compareTo(after) <= 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      from = lo;
    }
    int to = (int) Math.min(sorted.size(), (long) from + limit);
    List<T> items = sorted.subList(from, to);
    String next = to < sorted.size() && !items.isEmpty()
        ? name.apply(items.get(items.size() - 1)) : null;
    return new Page<>(items, next);
  }

  /** This page with every entry mapped by {@code f} (the same {@link #next()}). */
  public <R> Page<R> map(Function<? super T, ? extends R> f) {
    return new Page<>(items.stream().<R>map(f).toList(), next);
  }
}
