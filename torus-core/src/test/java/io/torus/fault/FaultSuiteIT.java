package io.torus.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The randomized fault run of {@link FaultSuite}, bounded for CI: 100 s of faults by default
 * (about 2.5 minutes with set-up). {@code -Dtorus.fault.seed=N} replays a schedule,
 * {@code -Dtorus.fault.duration=30m} runs longer (see {@code src-docs/reliability.md}). On a
 * violation the history is written to {@code target/fault-history-<seed>.txt}.
 *
 * <p>The NBD writer lives in {@code benchmarks/} (torus-core does not depend on torus-nbd):
 * this run drives Java API writers only.
 */
class FaultSuiteIT {

  @Test
  void randomizedFaultsKeepEveryAcknowledgedFlush() throws Exception {
    run(FaultSuite.Config.fromSystemProperties(Duration.ofSeconds(100), Path.of("target"),
        null));
  }

  /**
   * The same promises on an erasure-coded 2+1 volume (every data block a shard on its own
   * peer, parity on the third), with a shorter default run: {@code -Dtorus.fault.duration}
   * applies here too.
   */
  @Test
  void randomizedFaultsKeepEveryAcknowledgedFlushOfAnErasureCodedVolume() throws Exception {
    FaultSuite.Config c = FaultSuite.Config.fromSystemProperties(Duration.ofSeconds(60),
        Path.of("target"), null);
    run(c.erasure() != null ? c : c.withErasure(io.torus.Erasure.parse("2+1")));
  }

  private static void run(FaultSuite.Config c) throws Exception {
    Duration bound = c.duration().plus(Duration.ofMinutes(3));
    FaultSuite.Figures f = assertTimeoutPreemptively(bound, () -> FaultSuite.run(c),
        "FaultSuite seed=" + c.seed() + " overran " + bound);
    assertThat(f.violations())
        .as("FaultSuite seed=%d broke a promise; history in %s (replay with "
            + "-Dtorus.fault.seed=%d)", c.seed(), f.history().toAbsolutePath(), c.seed())
        .isEmpty();
    assertThat(f.recovery())
        .as("FaultSuite seed=%d: the cluster did not recover; history in %s", c.seed(),
            f.history().toAbsolutePath())
        .isNull();
  }
}
