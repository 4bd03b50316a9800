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
  void closedNodeRefusesCluster() {
    Torus torus = Torus.builder().build();
    torus.close();
    assertThatThrownBy(torus::cluster).isInstanceOf(TorusClosedException.class);
  }
}
