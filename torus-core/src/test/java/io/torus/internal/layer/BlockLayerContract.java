package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link BlockLayer} must do, whatever it stands on (a node's stores, a cluster's
 * peers): blocks read back byte for byte in buffers the caller owns, a ref never changes its
 * bytes, a bad checksum stores nothing, deletes are idempotent, and a flush succeeds over
 * healthy stores. The asynchronous methods keep the same contract with many operations
 * outstanding at once, and fail their futures with the exceptions the blocking twins throw.
 * A subclass per implementation gives a fresh layer (replication 2) of an empty volume.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class BlockLayerContract {
  private long volume = 7;

  /**
   * A fresh layer of volume {@code volume}, with two copies per block, over storage where
   * that volume has no blocks yet.
   */
  protected abstract BlockLayer layer(long volume);

  private BlockLayer layer() {
    return layer(volume);
  }

  /** A new volume id for each test (a shared cluster may serve several tests). */
  @org.junit.jupiter.api.BeforeEach
  void nextVolume() {
    volume = NEXT.incrementAndGet();
  }

  private static final java.util.concurrent.atomic.AtomicLong NEXT =
      new java.util.concurrent.atomic.AtomicLong(1000);

  private BlockRef ref(int seq) {
    return new BlockRef(volume, 1, seq, BlockKind.DATA);
  }

  @Test
  void aPutBlockReadsBackInABufferNobodyElseWrites() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(1, 4096);
    l.put(ref(1), data.duplicate(), Crc32c.of(data));
    ByteBuffer got = l.get(ref(1));
    assertThat(got).isEqualTo(data);
    if (got.isReadOnly()) { // a view of bytes that never change: no write gets through
      assertThatThrownBy(() -> got.put(0, (byte) 1))
          .isInstanceOf(java.nio.ReadOnlyBufferException.class);
    } else {
      got.put(0, (byte) (got.get(0) + 1)); // scribbling on it changes nothing stored
    }
    assertThat(l.get(ref(1))).isEqualTo(data);
    l.flush();
    assertThat(l.get(ref(1))).isEqualTo(data);
  }

  @Test
  void aMissingBlockIsUnavailable() {
    assertThatThrownBy(() -> layer().get(ref(99)))
        .isInstanceOf(BlockUnavailableException.class).hasMessageContaining(ref(99).toString());
  }

  @Test
  void aPutWithAWrongChecksumIsRefusedAndStoresNothing() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(2, 4096);
    assertThatThrownBy(() -> l.put(ref(2), data.duplicate(), Crc32c.of(data) ^ 1))
        .isInstanceOf(TorusException.class);
    assertThatThrownBy(() -> l.get(ref(2))).isInstanceOf(BlockUnavailableException.class);
  }

  @Test
  void aRefKeepsItsBytesForever() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(3, 4096);
    l.put(ref(3), data.duplicate(), Crc32c.of(data));
    l.put(ref(3), data.duplicate(), Crc32c.of(data)); // the same bytes again: fine
    ByteBuffer other = Blocks.block(4, 4096);
    assertThatThrownBy(() -> l.put(ref(3), other.duplicate(), Crc32c.of(other)))
        .isInstanceOf(RefConflictException.class);
    assertThat(l.get(ref(3))).isEqualTo(data);
    l.flush();
    assertThat(l.get(ref(3))).isEqualTo(data);
  }

  @Test
  void deletesRemoveEveryCopyAndDeletingNothingIsNoError() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(5, 4096);
    l.put(ref(5), data.duplicate(), Crc32c.of(data));
    l.flush();
    l.delete(ref(5));
    l.delete(ref(5));
    l.delete(ref(6));
    l.flush();
    assertThatThrownBy(() -> l.get(ref(5))).isInstanceOf(BlockUnavailableException.class);
  }

  @Test
  void manyBlocksAcrossPlacementsAllReadBack() {
    BlockLayer l = layer();
    List<ByteBuffer> written = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      ByteBuffer data = Blocks.block(100 + i, 512 + i * 64);
      written.add(data);
      l.put(ref(100 + i), data.duplicate(), Crc32c.of(data));
    }
    l.flush();
    for (int i = 0; i < 64; i++) {
      assertThat(l.get(ref(100 + i))).as("block %d", i).isEqualTo(written.get(i));
    }
  }

  private static <T> T await(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  @Test
  void manyAsyncPutsAndGetsOutstandingAtOnceAllReadBack() throws Exception {
    BlockLayer l = layer();
    List<ByteBuffer> written = new ArrayList<>();
    List<BlockRef> refs = new ArrayList<>();
    List<CompletableFuture<Void>> puts = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      ByteBuffer data = Blocks.block(300 + i, 1024 + i * 128);
      written.add(data);
      refs.add(ref(300 + i));
      puts.add(l.putAsync(ref(300 + i), data.duplicate(), Crc32c.of(data)));
    }
    await(CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)));
    await(l.flushAsync());
    List<CompletableFuture<ByteBuffer>> gets = new ArrayList<>();
    for (BlockRef r : refs) {
      gets.add(l.getAsync(r));
    }
    for (int i = 0; i < 64; i++) {
      ByteBuffer got = await(gets.get(i));
      assertThat(got).as("block %d", i).isEqualTo(written.get(i));
      if (!got.isReadOnly()) {
        got.put(0, (byte) (got.get(0) + 1)); // the caller's own buffer
      }
    }
    assertThat(await(l.getAllAsync(refs))).isEqualTo(written);
    assertThat(l.get(refs.get(0))).isEqualTo(written.get(0));
  }

  @Test
  void blockingCallsFromManyThreadsAtOnce() throws Exception {
    BlockLayer l = layer();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int base = 500 + t * 16;
        done.add(pool.submit(() -> {
          for (int i = base; i < base + 16; i++) {
            ByteBuffer data = Blocks.block(i, 2048);
            l.put(ref(i), data.duplicate(), Crc32c.of(data));
            assertThat(l.get(ref(i))).isEqualTo(data);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    l.flush();
    for (int i = 500; i < 500 + 8 * 16; i++) {
      assertThat(l.get(ref(i))).as("block %d", i).isEqualTo(Blocks.block(i, 2048));
    }
  }

  @Test
  void getAsyncOfAMissingBlockFailsUnavailable() {
    CompletableFuture<ByteBuffer> get = layer().getAsync(ref(98));
    assertThatThrownBy(() -> await(get)).hasCauseInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining(ref(98).toString());
    assertThatThrownBy(get::join).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(BlockUnavailableException.class);
    assertThatThrownBy(() -> await(layer().getAllAsync(List.of(ref(97)))))
        .hasCauseInstanceOf(BlockUnavailableException.class);
  }

  @Test
  void asyncPutsFailAsTheBlockingOnesThrow() throws Exception {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(7, 4096);
    assertThatThrownBy(() -> await(l.putAsync(ref(7), data.duplicate(), Crc32c.of(data) ^ 1)))
        .hasCauseInstanceOf(TorusException.class);
    assertThatThrownBy(() -> await(l.getAsync(ref(7))))
        .hasCauseInstanceOf(BlockUnavailableException.class);
    await(l.putAsync(ref(7), data.duplicate(), Crc32c.of(data)));
    await(l.putAsync(ref(7), data.duplicate(), Crc32c.of(data))); // the same bytes: fine
    ByteBuffer other = Blocks.block(8, 4096);
    assertThatThrownBy(() -> await(l.putAsync(ref(7), other.duplicate(), Crc32c.of(other))))
        .hasCauseInstanceOf(RefConflictException.class);
    assertThat(await(l.getAsync(ref(7)))).isEqualTo(data);
  }

  @Test
  void asyncDeletesRemoveEveryCopyAndDeletingNothingIsNoError() throws Exception {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(9, 4096);
    await(l.putAsync(ref(9), data.duplicate(), Crc32c.of(data)));
    await(l.flushAsync());
    await(CompletableFuture.allOf(l.deleteAsync(ref(9)), l.deleteAsync(ref(9)),
        l.deleteAsync(ref(10))));
    await(l.flushAsync());
    assertThatThrownBy(() -> await(l.getAsync(ref(9))))
        .hasCauseInstanceOf(BlockUnavailableException.class);
  }
}
