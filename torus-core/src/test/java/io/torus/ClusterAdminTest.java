package io.torus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link Torus#cluster()} of a single-JVM node: no etcd, so no peers, ring or defaults. */
class ClusterAdminTest {

  @Test
  void aSingleJvmNodeIsNotClusteredAndHasNoDefaults() {
    try (Torus torus = Torus.builder().build()) {
      ClusterAdmin c = torus.cluster();
      assertThat(c.clustered()).isFalse();
      assertThat(c.peers()).isEmpty();
      assertThat(c.ring()).isEmpty();
      assertThat(c.defaults()).isEmpty();
      assertThatThrownBy(() -> c.initialize(2, 65536, false))
          .isInstanceOf(TorusException.class).hasMessageContaining("no etcd");
      assertThatThrownBy(() -> c.initialize(2, 65536, new Erasure(4, 2), false))
          .isInstanceOf(TorusException.class).hasMessageContaining("no etcd");
      assertThat(c.removePeer("nobody")).isFalse();
    }
  }

  @Test
  void defaultsAreValidatedLikeAVolumeSpec() {
    java.time.Instant now = java.time.Instant.now();
    assertThatThrownBy(() -> new ClusterAdmin.Defaults(0, 65536, now, now))
        .isInstanceOf(TorusException.class).hasMessageContaining("replication");
    assertThatThrownBy(() -> new ClusterAdmin.Defaults(2, 1000, now, now))
        .isInstanceOf(TorusException.class).hasMessageContaining("block size");
    assertThat(new ClusterAdmin.Defaults(2, 65536, now, now).erasure()).isNull();
    assertThat(new ClusterAdmin.Defaults(2, 65536, now, now, new Erasure(4, 2)).erasure())
        .isEqualTo(Erasure.parse("4+2"));
  }

  @Test
  void theOvercommitRatioIsZeroOrAPositiveNumberUpToAThousand() {
    java.time.Instant now = java.time.Instant.now();
    assertThat(new ClusterAdmin.Defaults(2, 65536, now, now).overcommitRatio()).isEqualTo(4.0);
    assertThat(new ClusterAdmin.Defaults(2, 65536, now, now, null, 0).overcommitRatio())
        .isZero();
    assertThat(new ClusterAdmin.Defaults(2, 65536, now, now, null, 1000).overcommitRatio())
        .isEqualTo(1000.0);
    for (double bad : new double[] {-1, 0.001, 1000.5, Double.NaN,
        Double.POSITIVE_INFINITY}) {
      assertThatThrownBy(() -> new ClusterAdmin.Defaults(2, 65536, now, now, null, bad))
          .as("%s", bad).isInstanceOf(TorusException.class)
          .hasMessageContaining("overcommit ratio must be 0 (no check) or 0.01 to 1000");
      assertThatThrownBy(() -> Torus.builder().overcommitRatio(bad))
          .isInstanceOf(TorusException.class);
    }
    assertThatThrownBy(() -> Torus.builder().spaceWarningRatio(1.5))
        .hasMessageContaining("spaceWarningRatio must be 0 to 1: 1.5");
  }

  @Test
  void aCapacityKnowsItsLimitAndWhetherItIsNearlyFull() {
    ClusterAdmin.Capacity c = new ClusterAdmin.Capacity(1000, 850, 3000, 4, 0.8);
    assertThat(c.provisionLimit()).isEqualTo(4000);
    assertThat(c.usedRatio()).isEqualTo(0.85);
    assertThat(c.nearlyFull()).isTrue();
    assertThat(new ClusterAdmin.Capacity(1000, 850, 3000, 0, 0).provisionLimit())
        .isEqualTo(Long.MAX_VALUE);
    assertThat(new ClusterAdmin.Capacity(1000, 850, 3000, 0, 0).nearlyFull()).isFalse();
    assertThat(new ClusterAdmin.Capacity(0, 0, 3000, 4, 0.8).provisionLimit())
        .isEqualTo(Long.MAX_VALUE);
    assertThat(new ClusterAdmin.Capacity(Long.MAX_VALUE, 0, 0, 1000, 0.8).provisionLimit())
        .isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void closedNodeRefusesCluster() {
    Torus torus = Torus.builder().build();
    torus.close();
    assertThatThrownBy(torus::cluster).isInstanceOf(TorusClosedException.class);
  }
}
