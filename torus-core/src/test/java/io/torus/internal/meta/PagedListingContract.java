package io.torus.internal.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.Page;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Paged listings of volumes, snapshots and peers, the same on every metadata service: pages
 * in name order ({@link String#compareTo}) that together hold every name exactly once, also
 * for names whose store keys sort otherwise ({@code vol} before {@code vol-1} and
 * {@code vol.a}, though {@code vol/} sorts after {@code vol-} and {@code vol.}); {@code after}
 * a name that does not exist; limits and their errors. A subclass per implementation gives a
 * fresh, empty cluster for each test and its fastest ways to fill it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class PagedListingContract {
  private static final long MIB = 1 << 20;
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

  /** The service under test; fresh and empty for each test. */
  protected MetadataService meta;

  /** A new, empty service (metadata and coordination of one cluster); closed after the test. */
  protected abstract MetadataService newService();

  /** The peer registry of {@link #meta}'s cluster. */
  protected abstract PeerRegistry peers();

  /** Makes the cluster know these peers, all down (as peers that stopped). */
  protected abstract void addDownPeers(List<String> ids);

  /** Creates these volumes of 1 MiB (the default: one {@code createVolume} each). */
  protected void createVolumes(List<String> names) {
    for (String n : names) {
      meta.createVolume(VolumeSpec.builder(n, MIB).replication(1).build());
    }
  }

  @BeforeEach
  void openService() {
    meta = newService();
  }

  @AfterEach
  void closeService() {
    if (meta != null) {
      meta.close();
    }
  }

  /**
   * {@code n} names in a shuffled order, among them the ones whose keys sort apart from their
   * names: {@code base}, {@code base-1}, {@code base.x} and {@code base-0001-x}.
   */
  private static List<String> tricky(String base, int n) {
    Set<String> out = new java.util.LinkedHashSet<>(List.of(base, base + "-1", base + ".x",
        base + "-0001-x", base + "-0001.y", base + "_z", base + "0"));
    for (int i = 0; out.size() < n; i++) {
      out.add(String.format("%s-%04d", base, i));
    }
    List<String> shuffled = new ArrayList<>(out);
    java.util.Collections.shuffle(shuffled, new java.util.Random(n));
    return shuffled;
  }

  /** Every page of a listing from {@code after} on, each checked against {@code limit}. */
  private static <T> List<String> walk(BiFunction<String, Integer, Page<T>> list,
      Function<T, String> name, String after, int limit) {
    List<String> out = new ArrayList<>();
    String cursor = after;
    for (int pages = 0; ; pages++) {
      assertThat(pages).as("pages").isLessThan(100_000);
      Page<T> p = list.apply(cursor, limit);
      assertThat(p.items()).hasSizeLessThanOrEqualTo(limit);
      List<String> names = p.items().stream().map(name).toList();
      out.addAll(names);
      if (!p.hasMore()) {
        assertThat(p.next()).isNull();
        return out;
      }
      assertThat(p.items()).as("a page with more after it is full").hasSize(limit);
      assertThat(p.next()).isEqualTo(names.get(names.size() - 1));
      cursor = p.next();
    }
  }

  @Test
  void volumePagesHoldEveryNameOnceInNameOrder() {
    List<String> names = tricky("vol", 2_500);
    createVolumes(names);
    List<String> sorted = new ArrayList<>(new TreeSet<>(names));

    List<String> walked = walk(meta::volumes, VolumeInfo::name, null, 1_000);
    assertThat(walked).hasSize(2_500).isEqualTo(sorted);
    assertThat(new HashSet<>(walked)).hasSize(2_500);
    assertThat(walk(meta::volumes, VolumeInfo::name, null, 7)).isEqualTo(sorted);
    assertThat(meta.volumes().stream().map(VolumeInfo::name).toList()).isEqualTo(sorted);

    Page<VolumeInfo> first = meta.volumes(null, 3);
    assertThat(first.items()).extracting(VolumeInfo::name)
        .containsExactly("vol", "vol-0000", "vol-0001");
    assertThat(first.items().get(0)).isEqualTo(meta.volume("vol").orElseThrow());
    assertThat(meta.volumes("vol-0001", 3).items()).extracting(VolumeInfo::name)
        .containsExactly("vol-0001-x", "vol-0001.y", "vol-0002");

    // after a name that does not exist: the names after it
    assertThat(meta.volumes("vol-00015", 2).items()).extracting(VolumeInfo::name)
        .containsExactly("vol-0002", "vol-0003");
    assertThat(meta.volumes("vol-", 1).items()).extracting(VolumeInfo::name)
        .containsExactly("vol-0000");
    assertThat(meta.volumes("a", 1).items()).extracting(VolumeInfo::name)
        .containsExactly("vol");
    Page<VolumeInfo> beyond = meta.volumes("zzz", 5);
    assertThat(beyond.items()).isEmpty();
    assertThat(beyond.hasMore()).isFalse();

    // limits: one page can hold them all, the last page ends exactly
    Page<VolumeInfo> all = meta.volumes(null, Page.MAX_LIMIT);
    assertThat(all.items()).extracting(VolumeInfo::name).isEqualTo(sorted);
    assertThat(all.next()).isNull();
    Page<VolumeInfo> exact = meta.volumes(sorted.get(2_499 - 10), 10);
    assertThat(exact.items()).hasSize(10);
    assertThat(exact.hasMore()).isFalse();
    Page<VolumeInfo> one = meta.volumes(sorted.get(2_499 - 11), 10);
    assertThat(one.items()).hasSize(10);
    assertThat(one.next()).isEqualTo(sorted.get(2_498));
  }

  @Test
  void pagesOfASmallListingAndChangesBetweenPages() {
    assertThat(meta.volumes(null, 10).items()).isEmpty();
    assertThat(meta.volumes(null, 10).hasMore()).isFalse();
    createVolumes(List.of("b", "c", "d", "e"));
    Page<VolumeInfo> p = meta.volumes(null, 2);
    assertThat(p.items()).extracting(VolumeInfo::name).containsExactly("b", "c");
    // a volume deleted before the cursor, one created before it, one after it
    meta.deleteVolume("b");
    createVolumes(List.of("a", "f"));
    meta.deleteVolume("d");
    assertThat(walk(meta::volumes, VolumeInfo::name, p.next(), 2)).containsExactly("e", "f");
  }

  @Test
  void argumentsAreChecked() {
    createVolumes(List.of("v"));
    meta.createSnapshot("v", "s");
    for (int bad : new int[] {0, -1, Page.MAX_LIMIT + 1, Integer.MIN_VALUE}) {
      assertThatThrownBy(() -> meta.volumes(null, bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("limit must be 1 to 10000: " + bad)
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
      assertThatThrownBy(() -> meta.snapshots("v", null, bad))
          .isInstanceOf(TorusException.class).hasMessageContaining("limit must be 1 to");
      assertThatThrownBy(() -> peers().peers(null, bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("limit must be 1 to");
    }
    for (String bad : new String[] {"", "-x", ".x", "a/b", "a b", "x".repeat(129)}) {
      assertThatThrownBy(() -> meta.volumes(bad, 10)).isInstanceOf(TorusException.class)
          .hasMessageContaining("bad volume name")
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
      assertThatThrownBy(() -> meta.snapshots("v", bad, 10))
          .isInstanceOf(TorusException.class).hasMessageContaining("bad");
      assertThatThrownBy(() -> peers().peers(bad, 10)).isInstanceOf(TorusException.class)
          .hasMessageContaining("bad node id");
    }
    assertThatThrownBy(() -> meta.snapshots("missing", null, 10))
        .isInstanceOf(VolumeNotFoundException.class);
    assertThatThrownBy(() -> meta.snapshots("-bad", null, 10))
        .isInstanceOf(TorusException.class).hasMessageContaining("bad volume name");
  }

  @Test
  void snapshotPagesHoldEverySnapshotOfTheirVolumeOnly() {
    createVolumes(List.of("v", "v2", "w"));
    List<String> names = tricky("s", 300);
    for (String s : names) {
      meta.createSnapshot("v", s);
    }
    meta.createSnapshot("w", "s-0000");
    meta.createSnapshot("v2", "other");
    List<String> sorted = new ArrayList<>(new TreeSet<>(names));

    BiFunction<String, Integer, Page<Snapshot>> list = (a, l) -> meta.snapshots("v", a, l);
    assertThat(walk(list, Snapshot::name, null, 64)).isEqualTo(sorted);
    assertThat(walk(list, Snapshot::name, null, 1)).isEqualTo(sorted);
    assertThat(meta.snapshots("v", null, 300).items())
        .allSatisfy(s -> assertThat(s.volumeName()).isEqualTo("v"))
        .isEqualTo(meta.snapshots("v"));
    assertThat(meta.snapshots("v", "s-0100", 2).items()).extracting(Snapshot::name)
        .containsExactly("s-0101", "s-0102");
    assertThat(meta.snapshots("v", "s-01000", 1).items()).extracting(Snapshot::name)
        .containsExactly("s-0101");
    assertThat(meta.snapshots("v", "zz", 10).items()).isEmpty();
    assertThat(meta.snapshots("w", null, 10).items()).extracting(Snapshot::name)
        .containsExactly("s-0000");
    assertThat(meta.snapshots("w", null, 10).hasMore()).isFalse();
  }

  @Test
  void peerPagesHoldEveryPeerOnceInIdOrderUpAndDown() {
    List<String> ids = tricky("node", 600);
    addDownPeers(ids);
    PeerRegistry registry = peers();
    registry.register(new PeerInfo("node-0001-b", "127.0.0.1:7001", 100, 1, 1, T0));
    Set<String> all = new TreeSet<>(ids);
    all.add("node-0001-b");
    List<String> sorted = new ArrayList<>(all);

    assertThat(walk(registry::peers, PeerStatus::nodeId, null, 100)).isEqualTo(sorted);
    assertThat(walk(registry::peers, PeerStatus::nodeId, null, 3)).isEqualTo(sorted);
    assertThat(registry.peers().stream().map(PeerStatus::nodeId).toList()).isEqualTo(sorted);
    Page<PeerStatus> p = registry.peers("node-0001", 3);
    assertThat(p.items()).extracting(s -> s.nodeId() + "=" + s.up())
        .containsExactly("node-0001-b=true", "node-0001-x=false", "node-0001.y=false");
    assertThat(registry.peers("node-0001-a", 1).items()).extracting(PeerStatus::nodeId)
        .containsExactly("node-0001-b");
    assertThat(registry.peers("zz", 1).items()).isEmpty();
  }
}
