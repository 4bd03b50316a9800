package io.torus.internal.meta;

import io.torus.Page;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.function.Function;

/**
 * Pages of a listing kept in memory as a map by name (the local metadata service's volumes,
 * snapshots and peers): O(log n + limit), the map is not copied. The caller holds whatever
 * lock guards the map and has checked the arguments.
 */
public final class MapPages {
  private MapPages() {}

  /**
   * The entries of {@code byName} whose names come after {@code after} (null: from the
   * first), at most {@code limit}, each mapped by {@code f}.
   */
  public static <V, T> Page<T> page(NavigableMap<String, V> byName, String after, int limit,
      Function<? super V, ? extends T> f) {
    Page.checkLimit(limit);
    Map<String, V> tail = after == null ? byName : byName.tailMap(after, false);
    List<T> items = new ArrayList<>(Math.min(limit, tail.size()));
    String last = null;
    Iterator<Map.Entry<String, V>> it = tail.entrySet().iterator();
    while (it.hasNext() && items.size() < limit) {
      Map.Entry<String, V> e = it.next();
      items.add(f.apply(e.getValue()));
      last = e.getKey();
    }
    return new Page<>(items, it.hasNext() ? last : null);
  }
}
