package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.VolumeInfo;
import io.torus.internal.Crc32c;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ForkJoinPool;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.BlockLayerContract;
import io.torus.testing.cluster.MiniCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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

  @Test
  void aBlockIsStoredOnExactlyTwoOfTheThreePeers() {
    BlockLayer l = layer(999);
    BlockRef ref = new BlockRef(999, 1, 1, BlockKind.DATA);
    ByteBuffer data = Blocks.block(5, 4096);
    l.put(ref, data.duplicate(), Crc32c.of(data));
    l.flush();
    int holders = 0;
    try (PeerTransport t = new PeerTransport("checker", TransportOptions.defaults(),
        ForkJoinPool.commonPool())) {
      for (int i = 0; i < cluster.size(); i++) {
        PeerClient c = t.client(new InetSocketAddress("127.0.0.1", cluster.port(i)));
        ByteBuffer got = c.get(ref, Duration.ofSeconds(5)).join();
        if (got != null) {
          assertThat(got).isEqualTo(data);
          holders++;
        }
      }
    }
    assertThat(holders).as("peers holding the block").isEqualTo(2);
  }

  @Override
  protected BlockLayer layer(long volume) {
    TorusNode node = (TorusNode) cluster.node(0);
    return node.placement().layer(new VolumeInfo(volume, "contract-" + volume, 1 << 30,
        4096, 2, Instant.EPOCH), 0);
  }
}
