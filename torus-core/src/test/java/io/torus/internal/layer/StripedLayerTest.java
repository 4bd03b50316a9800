package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.ring.StripePlacement;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import io.torus.testing.cluster.FaultProxy;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Erasure-coded stripes of 2+1 over three in-process peers: every shard on its own peer, one
 * copy each, direct reads, degraded reads rebuilding a lost or unreachable shard, and a clear
 * failure when more shards are lost than the stripe's parity covers.
 */
class StripedLayerTest {
  private static final int SIZE = 4096;
  private PeerTrio peers;
  private DistributedBlockLayer layer;

  @BeforeEach
  void start() {
    peers = new PeerTrio(EpochAuthority.TRUSTING, Duration.ofSeconds(5));
    layer = peers.layer(1);
  }

  @AfterEach
  void stop() {
    peers.close();
  }

  private static BlockRef data(int seq) {
    return new BlockRef(41, 3, seq, BlockKind.DATA, 2, 1);
  }

  /** Puts blocks 0..n-1 in one call (stripes of two, the last one partial if n is odd). */
  private List<ByteBuffer> putStripes(int n) {
    List<BlockLayer.Write> writes = new ArrayList<>();
    List<ByteBuffer> contents = new ArrayList<>();
    for (int seq = 0; seq < n; seq++) {
      ByteBuffer b = Blocks.block(seq, SIZE);
      contents.add(b);
      writes.add(new BlockLayer.Write(data(seq), b.duplicate()));
    }
    List<CompletableFuture<Void>> puts = layer.putAllAsync(writes, false);
    puts.forEach(CompletableFuture::join);
    layer.flush();
    return contents;
  }

  private String owner(BlockRef shard) {
    return StripePlacement.owners(peers.ring(), shard).get(shard.shardIndex());
  }

  @Test
  void everyShardLivesOnceOnItsOwnPeer() {
    List<ByteBuffer> contents = putStripes(5);
    for (int seq = 0; seq < 6; seq++) {
      BlockRef d = data(seq);
      for (int i = 0; i < 3; i++) {
        BlockRef shard = d.shard(i);
        boolean stored = i == 2 || shard.sequence() < 5;
        for (int p = 0; p < PeerTrio.SIZE; p++) {
          boolean here = PeerTrio.id(p).equals(owner(shard));
          assertThat(peers.store(p).contains(shard)).as("%s on peer-%d", shard, p)
              .isEqualTo(stored && here);
        }
      }
    }
    for (int seq = 0; seq < 5; seq++) {
      assertThat(layer.get(data(seq))).isEqualTo(contents.get(seq).duplicate());
    }
    assertThat(layer.degradedReads()).isZero();
    // parity is 1/2 of the data of full stripes; the partial stripe's parity is one block
    long parity = 0;
    for (int p = 0; p < PeerTrio.SIZE; p++) {
      for (int s = 0; s < 3; s++) {
        BlockRef pr = data(2 * s).shard(2);
        if (peers.store(p).contains(pr)) {
          parity += peers.store(p).get(pr).remaining();
        }
      }
    }
    assertThat(parity).isEqualTo(3L * (SIZE + 16 + 8 * 2));
  }

  @Test
  void aLostShardIsRebuiltFromItsStripeAndWrittenBack() throws Exception {
    List<ByteBuffer> contents = putStripes(4);
    BlockRef lost = data(1);
    peers.store(owner(lost)).delete(lost);
    assertThat(layer.get(lost)).isEqualTo(contents.get(1).duplicate());
    assertThat(layer.degradedReads()).isEqualTo(1);
    assertThat(layer.rebuiltShards()).isEqualTo(1);
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!peers.store(owner(lost)).contains(lost) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(peers.store(owner(lost)).contains(lost)).as("written back").isTrue();
    assertThat(layer.get(lost)).isEqualTo(contents.get(1).duplicate());
    assertThat(layer.degradedReads()).isEqualTo(1);
  }

  @Test
  void aPeerDownCostsNoDataAndTwoShardsLostAreAClearError() {
    List<ByteBuffer> contents = putStripes(6);
    String down = owner(data(0));
    peers.proxy(down).mode(FaultProxy.Mode.CUT);
    for (int seq = 0; seq < 6; seq++) {
      assertThat(layer.get(data(seq))).as("block %d", seq)
          .isEqualTo(contents.get(seq).duplicate());
    }
    assertThat(layer.degradedReads()).isPositive();
    // a second shard of stripe 0 gone as well: more than its one parity shard covers
    BlockRef other = data(0).shard(1);
    peers.store(owner(other)).delete(other);
    assertThatThrownBy(() -> layer.get(data(0)))
        .isInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining("stripe data:41/3/0")
        .hasMessageContaining("2 needed");
  }

  /**
   * With no other parity shard to read a header from, a lost parity shard is encoded anew from
   * the data shards only if each is read or known absent (every peer that may hold it said it
   * does not): a data shard whose peer does not answer may be stored, and a parity encoded
   * without it would be wrong while passing its checksum.
   */
  @Test
  void aParityShardIsEncodedAnewOnlyFromDataShardsKnownStoredOrAbsent() {
    putStripes(5); // stripes 0-1 and 2-3 full; stripe 4 has no block at position 1
    BlockRef fullParity = data(0).shard(2);
    BlockRef partialParity = data(4).shard(2);
    ByteBuffer full = peers.store(owner(fullParity)).get(fullParity);
    ByteBuffer partial = peers.store(owner(partialParity)).get(partialParity);
    peers.store(owner(fullParity)).delete(fullParity);
    peers.store(owner(partialParity)).delete(partialParity);
    assertThat(layer.rebuildShard(fullParity, -1).join()).isEqualTo(full);
    assertThat(layer.rebuildShard(partialParity, -1).join()).isEqualTo(partial);

    peers.proxy(owner(data(5))).mode(FaultProxy.Mode.CUT); // the absent position's peer
    assertThatThrownBy(() -> layer.rebuildShard(partialParity, -1).join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining("data shard 1 is not readable but may be stored");
    peers.proxy(owner(data(5))).mode(FaultProxy.Mode.PASS);

    peers.proxy(owner(data(1))).mode(FaultProxy.Mode.CUT);
    assertThatThrownBy(() -> layer.rebuildShard(fullParity, -1).join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining("data shard 1 is not readable but may be stored");
    peers.proxy(owner(data(1))).mode(FaultProxy.Mode.PASS);
    assertThat(layer.rebuildShard(fullParity, -1).join()).isEqualTo(full);
  }

  @Test
  void aStripeIsRefusedWhenTheRingHasTooFewPeersForIt() {
    BlockRef wide = new BlockRef(41, 3, 0, BlockKind.DATA, 4, 2);
    ByteBuffer b = Blocks.block(0, SIZE);
    assertThatThrownBy(() -> layer.putAllAsync(List.of(new BlockLayer.Write(wide, b)), false)
        .get(0).join()).isInstanceOf(CompletionException.class)
        .hasMessageContaining("needs a ring of at least 6 peers; it has 3");
    for (int p = 0; p < PeerTrio.SIZE; p++) {
      assertThat(peers.store(p).contains(wide)).isFalse();
    }
  }
}
