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
 * I/O limits and the capacity guard from the command line, run in this process: against a
 * real etcd, {@code init --overcommit}, {@code volume create} with limits, {@code volume
 * set-qos}, what {@code volume info} and {@code status} show, and the errors; on a local node,
 * a creation past four times its stores refused with ENOSPC and the space line of
 * {@code status}. No data is written.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class QosCliIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  Path dir;

  private Map<String, String> env = Map.of();

  private CapturedRun run(String... args) {
    return CapturedRun.of(env, args);
  }

  private String ok(String... args) {
    return CapturedRun.ok(env, args);
  }

  @Test
  void limitsAreCreatedShownChangedAndTheOvercommitRatioIsTheClusters() {
    env = Map.of(NodeOptions.ENV, ETCD.endpoints().get(0), "TORUS_ETCD_PREFIX",
        "/cli-qos" + System.nanoTime());
    assertThat(ok("init", "--overcommit", "2.5"))
        .contains("capacity guard: volumes may provision 2.5 x the raw capacity of the peers"
            + " up");

    assertThat(ok("volume", "create", "--write-iops", "500", "--read-bps", "100MiB", "q",
        "64MiB")).contains("created volume 'q': 64 MiB, 16 KiB blocks, 2 copies, limits read"
            + " 100 MiB/s, write 500 IOPS, burst 1 s");
    assertThat(ok("volume", "create", "plain", "64MiB")).doesNotContain("limits");
    assertThat(ok("volume", "info", "q"))
        .contains("limits:      read 100 MiB/s, write 500 IOPS, burst 1 s");
    assertThat(ok("volume", "info", "plain")).contains("limits:      unlimited");

    // only the limits given change; 0 removes one
    assertThat(ok("volume", "set-qos", "q", "--read-iops", "300", "--write-iops", "0"))
        .contains("volume 'q': limits read 300 IOPS 100 MiB/s, write unlimited, burst 1 s (were"
            + " read 100 MiB/s, write 500 IOPS, burst 1 s)");
    assertThat(ok("volume", "set-qos", "plain", "--write-bps", "8MiB"))
        .contains("limits read unlimited, write 8 MiB/s, burst 1 s (were unlimited)");
    assertThat(ok("volume", "info", "plain")).contains("limits:      read unlimited, write"
        + " 8 MiB/s, burst 1 s");

    String status = ok("status");
    assertThat(status)
        .contains("space: volumes provision 256.0 MiB (copies and parity counted) of no limit"
            + " yet (no capacity known)")
        .containsPattern("q +64 MiB 2 copies: .*; limits read 300 IOPS 100 MiB/s, write"
            + " unlimited, burst 1 s")
        .doesNotContain("WARNING");

    // the errors
    CapturedRun none = run("volume", "set-qos", "q");
    assertThat(none.exit()).isEqualTo(2);
    assertThat(none.err()).contains("give at least one limit");
    CapturedRun negative = run("volume", "set-qos", "q", "--read-iops", "-3");
    assertThat(negative.exit()).isEqualTo(2);
    assertThat(negative.err()).contains("readIops must be 0 (no limit) to 2^50: -3");
    CapturedRun missing = run("volume", "set-qos", "nope", "--read-iops", "1");
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("no volume named 'nope'");
    CapturedRun ratio = run("init", "--force", "--overcommit", "-1");
    assertThat(ratio.exit()).isEqualTo(2);
    assertThat(ratio.err()).contains("overcommit ratio must be 0 (no check) or 0.01 to 1000");
    assertThat(ok("init", "--force", "--overcommit", "0"))
        .contains("capacity guard: off (--overcommit 0)");
    assertThat(ok("status")).contains("of no limit (overcommit check off)");
  }

  @Test
  void aLocalNodeRefusesToProvisionPastFourTimesItsStores() {
    String data = dir.resolve("node").toString();
    CapturedRun init = run("init", "--data", dir.resolve("other").toString(), "--overcommit", "2");
    assertThat(init.exit()).isEqualTo(2);
    assertThat(init.err()).contains("--overcommit is a cluster default (--etcd)");

    ok("init", "--data", data, "--stores", "1", "--capacity", "64MiB");
    ok("volume", "create", "--data", data, "a", "200MiB"); // 1 copy: one store
    CapturedRun create = run("volume", "create", "--data", data, "b", "100MiB");
    assertThat(create.exit()).isEqualTo(1);
    assertThat(create.err()).contains("ENOSPC: creating volume 'b' of 104857600 bytes"
        + " (100.0 MiB) with 1 copy refused")
        .contains("overcommit ratio 4 x the raw capacity of this node's stores, 67108864 bytes"
            + " (64.0 MiB)");
    CapturedRun grow = run("volume", "resize", "--data", data, "a", "300MiB");
    assertThat(grow.exit()).isEqualTo(1);
    assertThat(grow.err()).contains("ENOSPC: growing volume 'a'");
    assertThat(ok("volume", "list", "--data", data).lines()).hasSize(2);
    assertThat(ok("status", "--data", data)).contains("space: volumes provision 200.0 MiB"
        + " (copies and parity counted) of 256.0 MiB allowed (overcommit 4 x 64.0 MiB raw)");
  }
}
