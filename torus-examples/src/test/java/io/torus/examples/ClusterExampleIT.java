package io.torus.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class ClusterExampleIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  Path dir;

  @Test
  void peerAndClientShareAVolumeThroughEtcd() {
    assertThat(ClusterExample.run(ETCD.endpoints(), "/example", dir.resolve("peer")))
        .isEqualTo("stored on the cluster's peers");
    // a second run: the volume and the data are still there (the peer restarted)
    assertThat(ClusterExample.run(ETCD.endpoints(), "/example", dir.resolve("peer")))
        .isEqualTo("stored on the cluster's peers");
  }
}
