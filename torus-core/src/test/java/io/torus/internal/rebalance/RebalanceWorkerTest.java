package io.torus.internal.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RebalanceWorkerTest {
  @Test
  void passesLeftUndoneBackOffUpToTheIntervalAndThirtySeconds() {
    Duration minute = Duration.ofMinutes(1);
    assertThat(RebalanceWorker.retryPause(1, minute)).isEqualTo(500);
    assertThat(RebalanceWorker.retryPause(2, minute)).isEqualTo(1000);
    assertThat(RebalanceWorker.retryPause(6, minute)).isEqualTo(16_000);
    assertThat(RebalanceWorker.retryPause(7, minute)).isEqualTo(30_000);
    assertThat(RebalanceWorker.retryPause(1_000, minute)).isEqualTo(30_000);
    // a short anti-entropy interval caps it, never under the first pause
    assertThat(RebalanceWorker.retryPause(5, Duration.ofSeconds(2))).isEqualTo(2000);
    assertThat(RebalanceWorker.retryPause(5, Duration.ofMillis(100))).isEqualTo(500);
  }

  @Test
  void passesAfterARingChangeSpreadOverUpToTwoSeconds() {
    assertThat(Rebalancer.ringChangeSpread(3)).isEqualTo(12);
    assertThat(Rebalancer.ringChangeSpread(250)).isEqualTo(1000);
    assertThat(Rebalancer.ringChangeSpread(5000)).isEqualTo(2000);
  }
}
