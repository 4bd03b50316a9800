package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@link NamePager} over a sorted map standing in for etcd (keys in byte order, the same as
 * String order for ASCII): random names rich in '-' and '.', whose key order differs from
 * their name order, paged with random limits from random starting names, checked against the
 * sorted names. The seed is printed so a failure replays.
 */
class NamePagerTest {
  private static final String PREFIX = "/t/v1/names/";

  /** A key-ordered store that counts what the pager reads. */
  private static final class FakeEtcd implements NamePager.Source {
    final NavigableMap<String, String> kv = new TreeMap<>();
    int keysRead;
    int rangeLimit = Integer.MAX_VALUE; // at most this many keys a range read, to force batches

    @Override
    public NamePager.Range range(String from, String end, int limit, long revision) {
      List<NamePager.Entry> out = new ArrayList<>();
      NavigableMap<String, String> r = kv.subMap(from, true, end, false);
      int max = Math.min(limit, rangeLimit);
      for (Map.Entry<String, String> e : r.entrySet()) {
        if (out.size() == max) {
          break;
        }
        out.add(new NamePager.Entry(e.getKey(), e.getValue()));
      }
      keysRead += out.size();
      return new NamePager.Range(out, r.size() > out.size(), 7);
    }

    @Override
    public List<List<NamePager.Entry>> prefixes(List<String> prefixes, long revision) {
      assertThat(revision).isEqualTo(7);
      List<List<NamePager.Entry>> out = new ArrayList<>();
      for (String p : prefixes) {
        List<NamePager.Entry> l = new ArrayList<>();
        kv.subMap(p, true, NamePager.prefixEnd(p), false)
            .forEach((k, v) -> l.add(new NamePager.Entry(k, v)));
        keysRead += l.size();
        out.add(l);
      }
      return out;
    }
  }

  private static String randomName(Random rnd) {
    String alphabet = "ab-.0_";
    StringBuilder b = new StringBuilder().append("ab".charAt(rnd.nextInt(2)));
    int len = rnd.nextInt(6);
    for (int i = 0; i < len; i++) {
      b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /** Every page of every walk equals the slice of the sorted names it stands for. */
  @Test
  void pagesMatchTheSortedNamesWhateverTheKeyOrder() {
    long seed = System.nanoTime();
    System.out.println("NamePagerTest seed " + seed);
    Random rnd = new Random(seed);
    for (int round = 0; round < 300; round++) {
      FakeEtcd etcd = new FakeEtcd();
      TreeSet<String> names = new TreeSet<>();
      int n = rnd.nextInt(60);
      int keysPerName = 1 + rnd.nextInt(2);
      for (int i = 0; i < n; i++) {
        String name = randomName(rnd);
        names.add(name);
        etcd.kv.put(PREFIX + name + "/id", name);
        if (keysPerName == 2) {
          etcd.kv.put(PREFIX + name + "/member", name);
        }
      }
      etcd.kv.put("/t/v1/namer", "a neighbouring key");
      etcd.kv.put("/t/v1/names", "another");
      etcd.rangeLimit = 1 + rnd.nextInt(8);
      String after = rnd.nextBoolean() ? null : randomName(rnd);
      int limit = 1 + rnd.nextInt(10);
      String at = "seed " + seed + " round " + round + " names " + names + " after " + after
          + " limit " + limit + " batch " + etcd.rangeLimit;
      List<String> walked = new ArrayList<>();
      String cursor = after;
      for (int pages = 0; ; pages++) {
        assertThat(pages).as(at).isLessThanOrEqualTo(n + 1);
        NamePager.NamePage p = NamePager.read(etcd, PREFIX, cursor, limit, keysPerName, 0);
        TreeSet<String> rest = new TreeSet<>(cursor == null ? names
            : names.tailSet(cursor, false));
        List<String> expected = rest.stream().limit(limit).toList();
        List<String> got = p.groups().stream().map(NamePager.Group::name).toList();
        assertThat(got).as(at + " page after " + cursor).isEqualTo(expected);
        assertThat(p.more()).as(at).isEqualTo(rest.size() > limit);
        for (NamePager.Group g : p.groups()) {
          assertThat(g.entries()).as(at).hasSize(keysPerName)
              .allSatisfy(e -> assertThat(e.value()).isEqualTo(g.name()));
        }
        walked.addAll(got);
        if (!p.more()) {
          break;
        }
        cursor = p.next();
      }
      List<String> all = new ArrayList<>(after == null ? names : names.tailSet(after, false));
      assertThat(walked).as(at).isEqualTo(all);
    }
  }

  @Test
  void aPageReadsAboutItsOwnKeysOnly() {
    FakeEtcd etcd = new FakeEtcd();
    for (int i = 0; i < 5000; i++) {
      String name = String.format("vol-%05d", i);
      etcd.kv.put(PREFIX + name + "/id", name);
    }
    etcd.kv.put(PREFIX + "vol/id", "vol"); // after every vol-N in key order, first by name
    NamePager.NamePage p = NamePager.read(etcd, PREFIX, null, 100, 1, 0);
    assertThat(p.groups()).extracting(NamePager.Group::name).first().isEqualTo("vol");
    assertThat(p.groups()).hasSize(100);
    assertThat(p.next()).isEqualTo("vol-00098");
    assertThat(etcd.keysRead).isLessThan(110);

    etcd.keysRead = 0;
    NamePager.NamePage q = NamePager.read(etcd, PREFIX, "vol-04900", 1000, 1, 0);
    assertThat(q.groups()).hasSize(99);
    assertThat(q.more()).isFalse();
    assertThat(q.next()).isNull();
    assertThat(etcd.keysRead).isLessThan(110);
  }

  @Test
  void cutsAndPrefixEnds() {
    assertThat(NamePager.cuts("a-b.c-")).containsExactly("a", "a-b", "a-b.c");
    assertThat(NamePager.cuts("abc")).isEmpty();
    assertThat(NamePager.prefixEnd("/x/names/")).isEqualTo("/x/names0");
  }

  @Test
  void aKeyNotOfTheFormNameSlashIsCorrupt() {
    FakeEtcd etcd = new FakeEtcd();
    etcd.kv.put(PREFIX + "noslash", "x");
    assertThatThrownBy(() -> NamePager.read(etcd, PREFIX, null, 10, 1, 0))
        .isInstanceOf(TorusException.class).hasMessageContaining("noslash");
  }
}
