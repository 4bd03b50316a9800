package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A block being written out is sealed, not locked: writers copy it and go on while its put is
 * stuck in the store, and the block the stuck put stored is deleted once it is superseded.
 */
class WriteOutInFlightTest {
  private static final int BS = 4096;
  private static final int BLOCKS = 12;

  @Test
  void writersDoNotWaitForABlockStuckInItsWriteOut() throws Exception {
    TestStore store = new TestStore();
    store.gateDataPuts();
    try (Torus t = Torus.builder().addStore(store).dirtyBytes(16 * BS).cacheBytes(0)
        .gcInterval(Duration.ZERO).build()) {
      t.createVolume(VolumeSpec.builder("v", 1 << 20).blockSize(BS).replication(1).build());
      try (BlockVolume v = t.openVolume("v")) {
        for (int i = 0; i < BLOCKS; i++) { // past half the limit: a background write-out starts
          v.write((long) i * BS, fill(1, i));
        }
        assertThat(store.entered.await(10, TimeUnit.SECONDS))
            .as("the background write-out reached the store").isTrue();
        for (int i = 0; i < BLOCKS; i++) { // every block again, the stuck ones included
          v.writeAsync((long) i * BS, fill(1, 100 + i)).get(10, TimeUnit.SECONDS);
        }
        ByteBuffer partial = fill(1, 7).limit(512); // a partial write of a sealed block
        v.writeAsync(0, partial).get(10, TimeUnit.SECONDS);
        ByteBuffer now = ByteBuffer.allocate(BLOCKS * BS);
        v.readAsync(0, now).get(10, TimeUnit.SECONDS);
        store.open.countDown();
        v.flush();
        ByteBuffer after = ByteBuffer.allocate(BLOCKS * BS);
        v.read(0, after);
        for (ByteBuffer b : List.of(now, after)) {
          assertThat(b.getLong(0)).isEqualTo(7);
          assertThat(b.getLong(512)).isEqualTo(100);
          for (int i = 1; i < BLOCKS; i++) {
            assertThat(b.getLong(i * BS + BS - 8)).as("block %d", i).isEqualTo(100 + i);
          }
        }
        assertThat(store.dataBlocks(v.id())).as("superseded write-outs were deleted")
            .hasSize(BLOCKS);
      }
    }
  }

  /**
   * More volumes writing out in the background at once than the node's block pool has
   * threads (8), their puts held at the store for a while: every write-out and flush still
   * completes. (A write-out on the pool that waited for put tasks queued on the same pool
   * could take every thread of it; whether the pool fills with such waiters first depends on
   * scheduling, so this checks liveness under the load, not that one interleaving.)
   */
  @Test
  void moreVolumesWritingOutThanPoolThreadsAllFinish() throws Exception {
    int volumes = 12;
    TestStore store = new TestStore();
    store.gateDataPuts();
    try (Torus t = Torus.builder().addStore(store).dirtyBytes(16 * BS).cacheBytes(0)
        .gcInterval(Duration.ZERO).build()) {
      List<BlockVolume> open = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < volumes; i++) {
          t.createVolume(VolumeSpec.builder("v" + i, 1 << 20).blockSize(BS).replication(1)
              .build());
          BlockVolume v = t.openVolume("v" + i);
          open.add(v);
          for (int k = 0; k < BLOCKS; k++) { // past half the limit: a background write-out
            v.writeAsync((long) k * BS, fill(1, 1000 + i)).get(10, TimeUnit.SECONDS);
          }
        }
        assertThat(store.entered.await(10, TimeUnit.SECONDS)).isTrue();
        store.open.countDown();
        for (int i = 0; i < volumes; i++) {
          open.get(i).flushAsync().get(60, TimeUnit.SECONDS);
          ByteBuffer b = ByteBuffer.allocate(BS);
          open.get(i).read((BLOCKS - 1L) * BS, b);
          assertThat(b.getLong(BS - 8)).isEqualTo(1000 + i);
        }
      } finally {
        store.open.countDown();
        open.forEach(BlockVolume::close);
      }
    }
  }

  private static ByteBuffer fill(int blocks, long token) {
    ByteBuffer b = ByteBuffer.allocate(blocks * BS);
    while (b.hasRemaining()) {
      b.putLong(token);
    }
    return b.flip();
  }
}
