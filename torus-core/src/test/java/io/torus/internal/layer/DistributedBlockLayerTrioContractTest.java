package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.Crc32c;
import io.torus.internal.peer.EpochAuthority;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The block layer contract over three in-process peers ({@link PeerTrio}) reached through
 * fault proxies, written under a fencing epoch (the cluster contract,
 * {@code DistributedBlockLayerContractTest}, writes without one).
 */
class DistributedBlockLayerTrioContractTest extends BlockLayerContract {
  private static PeerTrio peers;

  @BeforeAll
  static void start() {
    peers = new PeerTrio(EpochAuthority.TRUSTING, Duration.ofSeconds(5));
  }

  @AfterAll
  static void stop() {
    if (peers != null) {
      peers.close();
    }
  }

  @Override
  protected BlockLayer layer(long volume) {
    return peers.layer(1);
  }

  /** With every peer up, a put lands on the first two ring peers of its ref, never the third. */
  @Test
  void aPutLandsOnItsTwoRingReplicasOnly() {
    BlockLayer l = layer(1);
    for (int seq = 900; seq < 916; seq++) {
      BlockRef ref = new BlockRef(77, 1, seq, BlockKind.DATA);
      ByteBuffer data = Blocks.block(seq, 4096);
      l.put(ref, data.duplicate(), Crc32c.of(data));
      List<String> order = peers.order(ref);
      assertThat(peers.store(order.get(0)).contains(ref)).as("%s on %s", ref, order.get(0))
          .isTrue();
      assertThat(peers.store(order.get(1)).contains(ref)).as("%s on %s", ref, order.get(1))
          .isTrue();
      assertThat(peers.store(order.get(2)).contains(ref)).as("%s not on %s", ref, order.get(2))
          .isFalse();
    }
  }
}
