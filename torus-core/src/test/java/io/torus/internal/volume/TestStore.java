package io.torus.internal.volume;

import io.torus.internal.storage.ForwardingBlockStore;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory store for engine tests that says it is persistent (so the engine treats it like a
 * disk: no fast path through it, blocks cached), counts data-block gets, and can hold data
 * puts until {@link #open} is counted down.
 */
final class TestStore extends ForwardingBlockStore {
  /** Counted down by the first data put that reaches a closed gate. */
  final CountDownLatch entered = new CountDownLatch(1);
  /** Opens the gate. */
  final CountDownLatch open = new CountDownLatch(1);
  final AtomicInteger dataGets = new AtomicInteger();
  private volatile boolean gated;

  TestStore() {
    super("test", 64L << 20);
  }

  /** From now on data puts wait for {@link #open}. */
  void gateDataPuts() {
    gated = true;
  }

  @Override
  public StoreCapabilities capabilities() {
    return new StoreCapabilities(true, MemoryBlockStore.MAX_BLOCK_SIZE);
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    if (gated && ref.kind() == BlockKind.DATA) {
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

  /** The data blocks stored for {@code volumeId}. */
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
    if (ref.kind() == BlockKind.DATA) {
      dataGets.incrementAndGet();
    }
    return inner.get(ref);
  }

}
