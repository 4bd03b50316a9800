package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;

/**
 * Where an open volume puts and gets its blocks: the stores of this node, or the peers of a
 * cluster. One instance serves one volume (it knows the volume's redundancy and epoch).
 *
 * <p>Methods block; callers run them on the node's I/O executor. Every method is abstract on
 * purpose: a wrapping layer (checksum, cache, encryption) must implement each operation, so
 * none can bypass it.
 */
public interface BlockLayer {

  /**
   * Stores a block on as many places as the volume's redundancy requires. Throws
   * {@link io.torus.TorusException} if it could not; never returns for a partial store.
   *
   * @param crc32c CRC32C of {@code data}'s remaining bytes; stores verify it
   */
  void put(BlockRef ref, ByteBuffer data, int crc32c);

  /**
   * The block's bytes, verified against their checksum, in a new buffer the caller owns (it
   * may keep or modify it; no cache or store holds it). Throws
   * {@link io.torus.BlockUnavailableException} if no good copy can be read.
   */
  ByteBuffer get(BlockRef ref);

  /**
   * Deletes every copy of a block that is known to be garbage (never reachable from any
   * head). Deleting a missing block is not an error.
   */
  void delete(BlockRef ref);

  /**
   * How many gets a multi-block read should run at once: 1 for local stores (a get is a memory
   * or page-cache copy), more for a layer whose gets are network round trips.
   */
  default int readParallelism() {
    return 1;
  }

  /**
   * Whether every block of this layer lives in this process's memory (stores that are not
   * persistent): a get is a memory copy that never waits, and caching its blocks again would
   * only hold them twice.
   */
  default boolean memoryResident() {
    return false;
  }

  /** Barrier: every put that returned before this call is durable when it returns. */
  void flush();
}
