package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
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
    GatedStore store = new GatedStore();
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

  private static ByteBuffer fill(int blocks, long token) {
    ByteBuffer b = ByteBuffer.allocate(blocks * BS);
    while (b.hasRemaining()) {
      b.putLong(token);
    }
    return b.flip();
  }

  /** A memory store that says it is persistent and holds data puts until opened. */
  private static final class GatedStore implements BlockStore {
    final MemoryBlockStore inner = new MemoryBlockStore("gated", 64L << 20);
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch open = new CountDownLatch(1);
    final AtomicInteger stuck = new AtomicInteger();

    @Override
    public String name() {
      return "gated";
    }

    @Override
    public StoreCapabilities capabilities() {
      return new StoreCapabilities(true, MemoryBlockStore.MAX_BLOCK_SIZE);
    }

    @Override
    public void put(BlockRef ref, ByteBuffer data, int crc32c) {
      if (ref.kind() == BlockKind.DATA) {
        stuck.incrementAndGet();
        entered.countDown();
        try {
          if (!open.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("gate never opened");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      inner.put(ref, data, crc32c);
    }

    List<BlockRef> dataBlocks(long volumeId) {
      List<BlockRef> refs = new ArrayList<>();
      inner.forEach(volumeId, r -> {
        if (r.kind() == BlockKind.DATA) {
          refs.add(r);
        }
      });
      return refs;
    }

    @Override
    public ByteBuffer get(BlockRef ref) {
      return inner.get(ref);
    }

    @Override
    public boolean contains(BlockRef ref) {
      return inner.contains(ref);
    }

    @Override
    public boolean delete(BlockRef ref) {
      return inner.delete(ref);
    }

    @Override
    public void forEach(long volumeId, Consumer<BlockRef> action) {
      inner.forEach(volumeId, action);
    }

    @Override
    public void flush() {
      inner.flush();
    }

    @Override
    public long capacity() {
      return inner.capacity();
    }

    @Override
    public long used() {
      return inner.used();
    }

    @Override
    public void close() {
      inner.close();
    }
  }
}
