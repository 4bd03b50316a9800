package io.torus.internal.layer;

import io.torus.internal.peer.EpochAuthority;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

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
}
