package io.torus.internal.meta.etcd;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One page of the names under an etcd key prefix, in name order, read without reading more
 * of the prefix than the page needs. Pure logic over a {@link Source} (etcd in
 * {@link EtcdKv#pages}, a sorted map in tests).
 *
 * <p>Shape: every key under the prefix is {@code PREFIX NAME '/' REST}, one or more keys per
 * name ({@code names/NAME/id}, {@code snapshots/SNAP/record}, {@code peers/NODE/alive} and
 * {@code peers/NODE/member}); names are 1 to 128 of {@code [A-Za-z0-9._-]}.
 *
 * <p>Why a page is not one range read: etcd orders whole keys by their bytes, and '/' (0x2F)
 * sorts after '-' and '.', so the keys of the names {@code a-b} and {@code a.c} come before
 * those of {@code a}, while the name {@code a} comes first. The two orders differ only there:
 * the keys of a name P come after those of every name that continues P with '-' or '.' (one
 * contiguous key range, {@code [P-, P/)}) instead of before them. So a name M whose keys lie
 * past a batch read in key order, yet which sorts before a name of that batch, is always a
 * <em>cut</em> of the batch's last name L: L up to one of its '-' or '.' (a 128-character
 * name has at most 127 cuts, a typical one a few). After each batch the pager reads those
 * cuts and the rest of L's keys (one prefix read each, {@link #OPS_PER_TXN} to a
 * transaction). Invariant: then the names collected, sorted, are exactly the first names
 * after {@code after}; the pager reads batches until it has {@code limit + 1} of them (the
 * last says that more follow) or the prefix ends.
 *
 * <p>Cost: a page of n names of one key each takes about {@code n / EtcdKv.PAGE + 1} range
 * reads, each followed by one transaction; every read is at the revision of the first (or
 * the one given), so the page is one consistent picture. Fails with EIO (retryable) if that
 * revision is compacted while the page is read.
 *
 * <p>Immutable and thread-safe (it keeps nothing between calls).
 */
final class NamePager {
  /** Reads in one transaction; etcd refuses more than 128 ({@code --max-txn-ops}). */
  static final int OPS_PER_TXN = 64;

  private NamePager() {}

  /** A key and its value. */
  record Entry(String key, String value) {}

  /** A name and its keys, in key order. */
  record Group(String name, List<Entry> entries) {
    Group {
      entries = List.copyOf(entries);
    }
  }

  /**
   * A page of names.
   *
   * @param groups the names in name order, at most the limit
   * @param more whether names follow the last of {@code groups}
   * @param revision the etcd revision every read was made at
   */
  record NamePage(List<Group> groups, boolean more, long revision) {
    /** The name to continue after, or null if no name follows. */
    String next() {
      return more ? groups.get(groups.size() - 1).name() : null;
    }
  }

  /** A range read's answer: keys in key order, whether the range has more, its revision. */
  record Range(List<Entry> entries, boolean more, long revision) {}

  /** The reads the pager makes. */
  interface Source {
    /**
     * The keys in {@code [from, end)} in key order, at most {@code limit}, at
     * {@code revision} (0: the current one, which the answer names).
     */
    Range range(String from, String end, int limit, long revision);

    /** The keys under each of {@code prefixes} (in key order), at {@code revision}. */
    List<List<Entry>> prefixes(List<String> prefixes, long revision);
  }

  /**
   * The first {@code limit} names under {@code prefix} after {@code after} (null: from the
   * first) in name order, with their keys.
   *
   * @param keysPerName about how many keys a name has (sizes the range reads)
   * @param revision the revision to read at, or 0 for the current one
   */
  static NamePage read(Source source, String prefix, String after, int limit, int keysPerName,
      long revision) {
    String end = prefixEnd(prefix);
    String from = after == null ? prefix : prefix + after + "\0";
    TreeMap<String, List<Entry>> found = new TreeMap<>();
    Set<String> whole = new HashSet<>(); // read by prefix: their keys may come again later
    long rev = revision;
    while (found.size() <= limit) {
      int want = (int) Math.min(EtcdKv.PAGE, (long) (limit + 1 - found.size()) * keysPerName);
      Range r = source.range(from, end, want, rev);
      if (rev == 0) {
        rev = r.revision();
      }
      for (Entry e : r.entries()) {
        String name = name(prefix, e);
        if ((after == null || name.compareTo(after) > 0) && !whole.contains(name)) {
          found.computeIfAbsent(name, n -> new ArrayList<>()).add(e);
        }
      }
      if (!r.more() || r.entries().isEmpty()) {
        break;
      }
      String last = name(prefix, r.entries().get(r.entries().size() - 1));
      List<String> names = new ArrayList<>();
      for (String c : cuts(last)) {
        if (after == null || c.compareTo(after) > 0) {
          names.add(c);
        }
      }
      if (after == null || last.compareTo(after) > 0) {
        names.add(last); // the rest of its keys may lie past the batch
      }
      List<String> prefixes = names.stream().map(n -> prefix + n + "/").toList();
      List<List<Entry>> read = prefixes.isEmpty() ? List.of() : source.prefixes(prefixes, rev);
      for (int i = 0; i < names.size(); i++) {
        whole.add(names.get(i));
        if (!read.get(i).isEmpty()) {
          found.put(names.get(i), new ArrayList<>(read.get(i)));
        }
      }
      from = prefix + last + "0"; // just past every key of PREFIX last '/'
    }
    List<Group> groups = new ArrayList<>(Math.min(limit, found.size()));
    for (Map.Entry<String, List<Entry>> e : found.entrySet()) {
      if (groups.size() == limit) {
        break;
      }
      groups.add(new Group(e.getKey(), e.getValue()));
    }
    return new NamePage(groups, found.size() > limit, rev);
  }

  /** The name of a key under {@code prefix}; EIO for a key not of the shape NAME/REST. */
  private static String name(String prefix, Entry e) {
    int slash = e.key().indexOf('/', prefix.length());
    if (!e.key().startsWith(prefix) || slash <= prefix.length()) {
      throw EtcdLayout.corrupt(e.key(), e.value(), "not a key of the form " + prefix
          + "NAME/...");
    }
    return e.key().substring(prefix.length(), slash);
  }

  /** {@code name} up to each '-' or '.' in it, shortest first. */
  static List<String> cuts(String name) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '-' || c == '.') {
        out.add(name.substring(0, i));
      }
    }
    return out;
  }

  /** The first key after every key that starts with {@code prefix} (an ASCII prefix). */
  static String prefixEnd(String prefix) {
    int last = prefix.length() - 1;
    return prefix.substring(0, last) + (char) (prefix.charAt(last) + 1);
  }
}
