package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Paged listings from the command line, run in this process against a real etcd: {@code
 * volume list}, {@code snapshot list} and {@code peer list} print a page ({@code --limit},
 * default 100) and, when more follow, a last line {@code more: torus ... --after NAME} that,
 * run as given, prints the next page; following it visits every name exactly once in name
 * order; {@code --all} prints every page and no {@code more:} line; {@code status} counts
 * every volume but lists the first 100 and the command for the rest.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ListPagingCliIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final String MORE = "more: torus ";

  private final String prefix = "/cli-paging" + System.nanoTime();
  private final String etcd = ETCD.endpoints().get(0);
  private final Map<String, String> env = Map.of("TORUS_ETCD_PREFIX", prefix,
      NodeOptions.ENV, etcd);

  /** The names in the first column of a listing's rows (after its header, before more:). */
  private static List<String> rows(String out) {
    List<String> names = new ArrayList<>();
    List<String> lines = out.lines().toList();
    for (String l : lines.subList(1, lines.size())) {
      if (!l.startsWith(MORE)) {
        names.add(l.split(" +")[0]);
      }
    }
    return names;
  }

  /** The arguments of the output's {@code more:} line, or null if it has none. */
  private static String[] more(String out) {
    List<String> lines = out.lines().toList();
    String last = lines.get(lines.size() - 1);
    if (!last.startsWith(MORE)) {
      assertThat(out).doesNotContain(MORE);
      return null;
    }
    assertThat(lines.stream().filter(l -> l.startsWith(MORE))).hasSize(1);
    return last.substring(MORE.length()).split(" ");
  }

  /** Runs {@code args}, then every {@code more:} line; the names of every page in turn. */
  private List<String> follow(List<Integer> pageSizes, String... args) {
    List<String> names = new ArrayList<>();
    String[] next = args;
    while (next != null) {
      String out = CapturedRun.ok(env, next);
      List<String> page = rows(out);
      pageSizes.add(page.size());
      names.addAll(page);
      next = more(out);
    }
    return names;
  }

  @Test
  void listsComeInPagesWithTheCommandForTheNext() throws Exception {
    assertThat(CapturedRun.ok(env, "init", "--etcd", etcd)).contains("new volumes get");
    List<String> volumes = new ArrayList<>(List.of("vol", "vol.x", "vol-1-a"));
    for (int i = 0; i < 250; i++) {
      volumes.add(String.format("vol-%03d", i));
    }
    try (Torus client = Torus.builder().etcd(List.of(etcd)).etcdPrefix(prefix).peer(false)
        .gcInterval(java.time.Duration.ZERO).build()) {
      for (String v : volumes) {
        client.createVolume(VolumeSpec.builder(v, 1 << 20).replication(1).build());
      }
      for (int i = 0; i < 12; i++) {
        client.createSnapshot("vol", String.format("s-%02d", i));
      }
      client.createSnapshot("vol", "s");
    }
    List<String> sorted = new ArrayList<>(new TreeSet<>(volumes));

    // one page, and the line that gives the next, with every option as given
    String first = CapturedRun.ok(env, "volume", "list", "--etcd", etcd);
    assertThat(rows(first)).hasSize(100).isEqualTo(sorted.subList(0, 100));
    assertThat(first.lines().toList().get(0)).startsWith("NAME");
    assertThat(first.lines().reduce((a, b) -> b).orElseThrow())
        .isEqualTo("more: torus volume list --etcd " + etcd + " --after " + sorted.get(99));
    List<Integer> sizes = new ArrayList<>();
    assertThat(follow(sizes, "volume", "list", "--etcd", etcd)).isEqualTo(sorted);
    assertThat(sizes).containsExactly(100, 100, 53);
    sizes.clear();
    assertThat(follow(sizes, "volume", "list", "--limit", "40", "--after", "vol-1"))
        .isEqualTo(sorted.subList(sorted.indexOf("vol-1-a"), sorted.size()));
    assertThat(sizes).containsExactly(40, 40, 40, 32);

    // --all: every page, no more: line
    String all = CapturedRun.ok(env, "volume", "list", "--all", "--limit", "7");
    assertThat(rows(all)).isEqualTo(sorted);
    assertThat(more(all)).isNull();
    assertThat(rows(CapturedRun.ok(env, "volume", "list", "--after", "vol-249", "--all")))
        .containsExactly("vol.x");

    // snapshots
    List<String> snaps = new ArrayList<>(List.of("vol@s"));
    for (int i = 0; i < 12; i++) {
      snaps.add(String.format("vol@s-%02d", i));
    }
    String page = CapturedRun.ok(env, "snapshot", "list", "vol", "--limit", "5");
    assertThat(rows(page)).isEqualTo(snaps.subList(0, 5));
    assertThat(Arrays.asList(more(page)))
        .containsExactly("snapshot", "list", "vol", "--limit", "5", "--after", "s-03");
    sizes.clear();
    assertThat(follow(sizes, "snapshot", "list", "vol", "--limit", "5")).isEqualTo(snaps);
    assertThat(sizes).containsExactly(5, 5, 3);
    assertThat(rows(CapturedRun.ok(env, "snapshot", "list", "--all", "--limit", "2", "vol")))
        .isEqualTo(snaps);

    // peers: down peers' records as stopped nodes leave them
    List<String> peers = List.of("p", "p-1", "p.2", "p0", "q", "q-q", "r");
    try (Client raw = Client.builder().endpoints(etcd).build()) {
      for (String id : peers) {
        raw.getKVClient().put(bytes(prefix + "/v1/peers/" + id + "/member"),
            bytes("v1 node=" + id + " address=127.0.0.1:7000 capacity=100 used=0 protocol=1"
                + " started=2026-03-01T10:00:00Z")).get(10, TimeUnit.SECONDS);
      }
    }
    sizes.clear();
    assertThat(follow(sizes, "peer", "list", "--limit", "3")).isEqualTo(peers);
    assertThat(sizes).containsExactly(3, 3, 1);
    assertThat(rows(CapturedRun.ok(env, "peer", "list", "--all", "--limit", "2")))
        .isEqualTo(peers);

    // status: every volume counted, the first 100 listed, and the command for the rest
    String status = CapturedRun.ok(env, "status");
    assertThat(status).contains("volumes: 253").contains("  ... and 153 more")
        .contains("more: torus volume list --after " + sorted.get(99) + "\n")
        .contains("  " + sorted.get(99) + " ").doesNotContain("  " + sorted.get(100) + " ");

    // a bad limit is a usage error
    CapturedRun zero = CapturedRun.of(env, "volume", "list", "--limit", "0");
    assertThat(zero.exit()).isEqualTo(2);
    assertThat(zero.err()).contains("--limit must be 1 to 10000: 0");
    CapturedRun bad = CapturedRun.of(env, "volume", "list", "--after=-x");
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).contains("bad volume name");
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
