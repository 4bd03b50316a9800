package io.torus.internal.rebalance;

import static io.torus.testing.Blocks.crc;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.VolumeInfo;
import io.torus.internal.layer.PeerView;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.ring.SinglePeerRing;
import io.torus.internal.storage.FaultyBlockStore;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerServer;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.peer.StorePeerService;
import io.torus.internal.transport.TransportOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The rebalancer drops a copy this peer should no longer hold only on strong evidence: the
 * owner's copy must read back checksum-valid and be durable there. An owner whose copy is
 * corrupt (HAS by index membership still says yes) never makes this peer drop the last good
 * copy.
 */
class RebalanceEvidenceIT {
  private static final long VOL = 1;
  private static final int BS = 4096;

  private final ExecutorService workers = Executors.newFixedThreadPool(2);
  private final FaultyBlockStore ownerStore = new FaultyBlockStore("owner");
  private final MemoryBlockStore selfStore = new MemoryBlockStore("self", 64 << 20);
  private final StorePeerService owner = new StorePeerService("A", List.of(ownerStore), null);
  private final StorePeerService self = new StorePeerService("S", List.of(selfStore), null);
  private final PeerServer server = PeerServer.start(owner, workers, "127.0.0.1", 0);
  private final PeerTransport transport =
      new PeerTransport("S", TransportOptions.defaults(), workers);
  private Rebalancer rebalancer;

  @AfterEach
  void close() {
    if (rebalancer != null) {
      rebalancer.close();
    }
    transport.close();
    server.close(Duration.ofSeconds(2));
    workers.shutdownNow();
  }

  private static ByteBuffer block(int fill) {
    byte[] b = new byte[BS];
    java.util.Arrays.fill(b, (byte) fill);
    return ByteBuffer.wrap(b);
  }

  private static void put(StorePeerService s, BlockRef ref, ByteBuffer data) {
    s.put(ref, 0, data, crc(data), true, false);
    s.flush();
  }

  @Test
  void aCopyIsDroppedOnlyWhenTheOwnersCopyIsDurableAndReadsBack() throws Exception {
    BlockRef good = new BlockRef(VOL, 5, 0, BlockKind.DATA);
    BlockRef bad = new BlockRef(VOL, 5, 1, BlockKind.DATA);
    for (BlockRef ref : List.of(good, bad)) {
      put(self, ref, block(ref.sequence() + 1));
      put(owner, ref, block(ref.sequence() + 1));
    }
    ownerStore.corrupt(bad);

    Ring ring = new SinglePeerRing(1, new RingPeer("A", 1)); // every block belongs to A
    PeerClient toOwner = transport.client(server.address());
    PeerView view = new PeerView() {
      @Override
      public Ring ring() {
        return ring;
      }

      @Override
      public PeerClient client(String peerId) {
        return peerId.equals("A") ? toOwner : null;
      }
    };
    Map<Long, VolumeInfo> vols =
        Map.of(VOL, new VolumeInfo(VOL, "v", 1 << 20, BS, 1, Instant.EPOCH));
    rebalancer = new Rebalancer("S", self, view, () -> vols, () -> 1, new NoReports(), null,
        RebalanceOptions.defaults(), Duration.ofSeconds(5));
    rebalancer.wake();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (rebalancer.passes() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(rebalancer.passes()).as("a pass finished").isPositive();
    assertThat(self.contains(good)).as("moved copy dropped").isFalse();
    assertThat(self.contains(bad)).as("last good copy kept").isTrue();
    assertThat(self.get(bad)).isEqualTo(block(2));
  }
}
