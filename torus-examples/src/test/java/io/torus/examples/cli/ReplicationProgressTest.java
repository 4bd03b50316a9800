package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.ClusterAdmin;
import org.junit.jupiter.api.Test;

class ReplicationProgressTest {

  @Test
  void lineShowsShareMovedAndFigures() {
    ClusterAdmin.Replication half = new ClusterAdmin.Replication(4, true, 12, 3L << 20,
        1L << 20, 3, 0, false);
    assertThat(ReplicationProgress.line(half, 6L << 20))
        .startsWith("[###############...............]  50% 12 copies missing, ")
        .contains("to move at ").endsWith(", ~3 s left");
    ClusterAdmin.Replication done = new ClusterAdmin.Replication(4, false, 0, 0, 0, -1, 0, true);
    assertThat(ReplicationProgress.line(done, 6L << 20))
        .startsWith("[##############################] 100% 0 copies missing")
        .doesNotContain("left");
  }
}
