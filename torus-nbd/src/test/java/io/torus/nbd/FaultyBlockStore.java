package io.torus.nbd;

import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Test double: an in-memory {@link BlockStore} whose flush barrier (and, on command, puts)
 * fail with EIO, so the real volume engine above it reports failed flushes and commits.
 */
final class FaultyBlockStore implements BlockStore {
  private final Map<BlockRef, byte[]> blocks = new ConcurrentHashMap<>();
  private volatile boolean failFlush;
  private volatile boolean failPut;

  /** From now on every flush barrier fails (or succeeds again with false). */
  void failFlush(boolean fail) {
    this.failFlush = fail;
  }

  /** From now on every put fails (or succeeds again with false). */
  void failPut(boolean fail) {
    this.failPut = fail;
  }

  @Override
  public String name() {
    return "faulty-memory";
  }

  @Override
  public StoreCapabilities capabilities() {
    return new StoreCapabilities(false, 4 << 20);
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    if (failPut) {
      throw new TorusException(ErrorCode.EIO, "injected put failure");
    }
    byte[] b = new byte[data.remaining()];
    data.duplicate().get(b);
    CRC32C c = new CRC32C();
    c.update(b);
    if ((int) c.getValue() != crc32c) {
      throw new CorruptBlockException("checksum mismatch for " + ref);
    }
    blocks.put(ref, b);
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    byte[] b = blocks.get(ref);
    return b == null ? null : ByteBuffer.wrap(b.clone());
  }

  @Override
  public boolean contains(BlockRef ref) {
    return blocks.containsKey(ref);
  }

  @Override
  public boolean delete(BlockRef ref) {
    return blocks.remove(ref) != null;
  }

  @Override
  public void forEach(long volumeId, Consumer<BlockRef> action) {
    blocks.keySet().stream().filter(r -> r.volumeId() == volumeId).forEach(action);
  }

  @Override
  public void flush() {
    if (failFlush) {
      throw new TorusException(ErrorCode.EIO, "injected flush failure");
    }
  }

  @Override
  public long capacity() {
    return 8L << 30;
  }

  @Override
  public long used() {
    return blocks.values().stream().mapToLong(b -> b.length).sum();
  }

  @Override
  public void close() {
    blocks.clear();
  }
}
