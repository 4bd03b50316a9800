package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** The per-thread direct buffers of the file store's block I/O. */
class ScratchBufferTest {

  @Test
  void capacityIsAPowerOfTwoBetweenTheMinimumAndTheLargestExtent() {
    assertThat(ScratchBuffer.capacityFor(0)).isEqualTo(ScratchBuffer.MIN_CAPACITY);
    assertThat(ScratchBuffer.capacityFor(48 + 4096)).isEqualTo(ScratchBuffer.MIN_CAPACITY);
    assertThat(ScratchBuffer.capacityFor(ScratchBuffer.MIN_CAPACITY))
        .isEqualTo(ScratchBuffer.MIN_CAPACITY);
    assertThat(ScratchBuffer.capacityFor(ScratchBuffer.MIN_CAPACITY + 1))
        .isEqualTo(2 * ScratchBuffer.MIN_CAPACITY);
    assertThat(ScratchBuffer.capacityFor(65536 + 48)).isEqualTo(131072);
    assertThat(ScratchBuffer.capacityFor(ScratchBuffer.MAX_EXTENT))
        .isEqualTo(ScratchBuffer.MAX_EXTENT);
    assertThat(ScratchBuffer.MAX_EXTENT % FileBlockStore.UNIT).isZero();
    assertThat(ScratchBuffer.MAX_EXTENT)
        .isGreaterThanOrEqualTo(BlockHeader.SIZE + FileBlockStore.MAX_BLOCK_SIZE);
  }

  @Test
  void aThreadReusesItsDirectBufferAndGrowsItOnDemand() throws Exception {
    ExecutorService fresh = Executors.newSingleThreadExecutor(); // a thread with no buffer yet
    try {
      fresh.submit(() -> {
        reuseAndGrow();
        return null;
      }).get();
    } finally {
      fresh.shutdownNow();
    }
  }

  private static void reuseAndGrow() throws Exception {
    ByteBuffer small = ScratchBuffer.take(100);
    assertThat(small.isDirect()).isTrue();
    assertThat(small.position()).isZero();
    assertThat(small.limit()).isEqualTo(100);
    small.put((byte) 1).position(50);
    ByteBuffer again = ScratchBuffer.take(4144);
    assertThat(again).isSameAs(small);
    assertThat(again.position()).isZero();
    assertThat(again.limit()).isEqualTo(4144);
    ByteBuffer big = ScratchBuffer.take(1 << 20);
    assertThat(big).isNotSameAs(small);
    assertThat(big.capacity()).isEqualTo(1 << 20);
    assertThat(ScratchBuffer.take(10)).isSameAs(big); // never shrinks
    ByteBuffer other = CompletableFuture.supplyAsync(() -> ScratchBuffer.take(10)).get();
    assertThat(other).isNotSameAs(big);
    assertThatThrownBy(() -> ScratchBuffer.take(ScratchBuffer.MAX_EXTENT + 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ScratchBuffer.take(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
