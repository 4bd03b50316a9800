package io.torus.internal.storage;

import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A test store that forwards every call to a {@link MemoryBlockStore}; fault-injecting and
 * gated test stores extend it and override only the calls they change.
 */
public abstract class ForwardingBlockStore implements BlockStore {
  protected final MemoryBlockStore inner;

  protected ForwardingBlockStore(String name, long capacity) {
    this.inner = new MemoryBlockStore(name, capacity);
  }

  /** The memory store underneath. */
  public MemoryBlockStore inner() {
    return inner;
  }

  @Override
  public String name() {
    return inner.name();
  }

  @Override
  public StoreCapabilities capabilities() {
    return inner.capabilities();
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    inner.put(ref, data, crc32c);
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
  public java.util.List<BlockRef> list(long volumeId, BlockRef after, int max) {
    return inner.list(volumeId, after, max);
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
