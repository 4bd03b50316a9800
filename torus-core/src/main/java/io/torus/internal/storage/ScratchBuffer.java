package io.torus.internal.storage;

import java.nio.ByteBuffer;

/**
 * Per-thread direct buffers for the block I/O of {@link FileBlockStore}: a put assembles
 * header and payload in one and writes it with a single positional write, a get reads the
 * whole extent into one and verifies it there.
 *
 * <p>Direct, because {@link java.nio.channels.FileChannel} copies a heap buffer into a
 * temporary direct buffer of its own on every call (and keeps one such buffer per thread
 * anyway); here the copy the put needs to add the header is the only one. Each thread's buffer
 * grows to the largest extent it has handled (a power of two, at least {@link #MIN_CAPACITY},
 * at most one {@link #MAX_EXTENT}); it is never shrunk, and freed with its thread.
 *
 * <p><b>Concurrency.</b> A buffer is used by its own thread only, for the length of one store
 * call; {@link #take} must not be called again before the caller is done with the previous
 * buffer (the store never nests calls).
 */
final class ScratchBuffer {
  /** Smallest buffer kept: a 4 KiB block with its header fits in it. */
  static final int MIN_CAPACITY = 16 * 1024;
  /** The largest extent: header plus the largest payload, in whole units. */
  static final int MAX_EXTENT =
      Location.unitsFor(FileBlockStore.MAX_BLOCK_SIZE) * FileBlockStore.UNIT;

  private static final ThreadLocal<ByteBuffer> BUFFERS = new ThreadLocal<>();

  private ScratchBuffer() {}

  /**
   * This thread's buffer, cleared, with position 0 and limit {@code size}.
   *
   * @param size bytes needed, {@code 0 <= size <= MAX_EXTENT}
   */
  static ByteBuffer take(int size) {
    if (size < 0 || size > MAX_EXTENT) {
      throw new IllegalArgumentException("scratch size out of range: " + size);
    }
    ByteBuffer b = BUFFERS.get();
    if (b == null || b.capacity() < size) {
      b = ByteBuffer.allocateDirect(capacityFor(size));
      BUFFERS.set(b);
    }
    return b.clear().limit(size);
  }

  /** The capacity allocated for a request of {@code size} bytes. */
  static int capacityFor(int size) {
    int pow = Integer.highestOneBit(Math.max(size, MIN_CAPACITY) - 1) << 1;
    return Math.min(Math.max(pow, MIN_CAPACITY), MAX_EXTENT);
  }
}
