package io.torus.internal.node;

import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.BlockLayerContract;
import io.torus.testing.cluster.MiniCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block layer contract over a cluster: three in-process peers, every block on two of
 * them by the ring, reached over the peer protocol through fault proxies.
 */
class DistributedBlockLayerContractTest extends BlockLayerContract {
  @TempDir
  static Path dir;
  private static MiniCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = MiniCluster.builder(dir).nodes(3).start();
    cluster.awaitRing(Duration.ofSeconds(20));
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Override
  protected BlockLayer layer(long volume) {
    TorusNode node = (TorusNode) cluster.node(0);
    return node.placement().layer(new VolumeInfo(volume, "contract-" + volume, 1 << 30,
        4096, 2, Instant.EPOCH), 0);
  }
}
