package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Erasure-coded volumes from the command line, run in this process against a real etcd:
 * {@code init --erasure} as the cluster's default, {@code volume create --erasure}, what
 * {@code volume info/list} and {@code status} show, a clone inheriting the policy,
 * {@code ring set-replication} leaving it alone, and the errors: {@code --erasure} with
 * {@code --replication}, a bad policy, and a local node. Volumes are only created, shown and
 * deleted: no data is written.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ErasureCliIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  Path dir;

  /** The environment of the runs: the cluster's etcd and a prefix of this test's. */
  private Map<String, String> env = Map.of();

  private CapturedRun run(String... args) {
    return CapturedRun.of(env, args);
  }

  private String ok(String... args) {
    return CapturedRun.ok(env, args);
  }

  @Test
  void erasureCodedVolumesAreCreatedShownClonedAndDeleted() {
    env = Map.of(NodeOptions.ENV, ETCD.endpoints().get(0), "TORUS_ETCD_PREFIX",
        "/cli-ec" + System.nanoTime());
    assertThat(ok("init", "--erasure", "4+2"))
        .contains("new volumes get erasure 4+2 (1.50x space, map nodes 3 copies), 16 KiB"
            + " blocks (with --replication: 2 copies)");

    // the cluster's default, an explicit policy, and explicit copies
    assertThat(ok("volume", "create", "ec", "64MiB"))
        .contains("created volume 'ec': 64 MiB, 16 KiB blocks, erasure 4+2");
    assertThat(ok("volume", "create", "--erasure", "6+3", "ec63", "1GiB"))
        .contains("erasure 6+3");
    assertThat(ok("volume", "create", "--replication", "2", "plain", "64MiB"))
        .contains("64 MiB, 16 KiB blocks, 2 copies");

    assertThat(ok("volume", "info", "ec"))
        .contains("redundancy:  erasure 4+2 (1.50x space, map nodes 3 copies)");
    assertThat(ok("volume", "info", "ec63"))
        .contains("redundancy:  erasure 6+3 (1.50x space, map nodes 4 copies)");
    assertThat(ok("volume", "info", "plain")).contains("redundancy:  replication 2");
    String list = ok("volume", "list");
    assertThat(list).contains("REDUNDANCY")
        .containsPattern("(?m)^ec +64 MiB +16 KiB erasure 4\\+2$")
        .containsPattern("(?m)^ec63 .* erasure 6\\+3$")
        .containsPattern("(?m)^plain .* 2 copies$");
    assertThat(ok("status"))
        .contains("new volumes get erasure 4+2 (1.50x space, map nodes 3 copies)")
        .containsPattern("ec +64 MiB erasure 4\\+2: ");

    // a clone inherits the policy; set-replication changes only replicated volumes
    ok("snapshot", "create", "ec@s");
    ok("volume", "clone", "ec@s", "ec-copy");
    assertThat(ok("volume", "info", "ec-copy"))
        .contains("redundancy:  erasure 4+2 (1.50x space, map nodes 3 copies)");
    assertThat(ok("ring", "set-replication", "3"))
        .contains("3 erasure-coded volume(s) keep their policy")
        .contains("without --replication or --erasure still get the cluster's default,"
            + " erasure 4+2");
    assertThat(ok("volume", "info", "plain")).contains("redundancy:  replication 3");
    assertThat(ok("volume", "info", "ec")).contains("map nodes 3 copies");

    // the errors
    CapturedRun both = run("volume", "create", "--erasure", "4+2", "--replication", "2", "x",
        "1MiB");
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.err()).contains("give either --replication N").contains("not both");
    CapturedRun bad = run("volume", "create", "--erasure", "4x2", "x", "1MiB");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("--erasure").contains("written DATA+PARITY, e.g. 4+2");
    CapturedRun big = run("volume", "create", "--erasure", "17+2", "x", "1MiB");
    assertThat(big.exit()).isEqualTo(2);
    assertThat(big.err()).contains("1 to 16 data shards: 17");

    for (String v : new String[] {"ec", "ec63", "ec-copy", "plain"}) {
      ok("volume", "delete", v);
    }
    assertThat(ok("volume", "list").lines()).hasSize(1);
  }

  @Test
  void aLocalNodeRefusesErasureCoding() {
    String data = dir.resolve("node").toString();
    CapturedRun init = run("init", "--data", dir.resolve("other").toString(), "--erasure", "4+2");
    assertThat(init.exit()).isEqualTo(2);
    assertThat(init.err()).contains("--erasure needs a cluster (--etcd)");

    ok("init", "--data", data, "--stores", "3", "--capacity", "64MiB");
    CapturedRun create = run("volume", "create", "--data", data, "--erasure", "2+1", "x", "1MiB");
    assertThat(create.exit()).isEqualTo(1);
    assertThat(create.err())
        .contains("EINVAL: erasure coding needs a cluster of at least k+m peers (3 for 2+1)");
    assertThat(ok("volume", "list", "--data", data).lines()).hasSize(1);
  }
}
