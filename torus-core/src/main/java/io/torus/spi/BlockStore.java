package io.torus.spi;

import io.torus.BlockRef;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A place that keeps immutable blocks: a disk, a directory, memory. The extension point for
 * storage backends; third parties provide one through {@link BlockStoreProvider} and
 * {@link java.util.ServiceLoader}, or hand an instance to the node builder.
 *
 * <p><b>Contract.</b> Blocks are immutable: a ref names one byte string forever, so putting a
 * ref that is already stored is a no-op (the content is the same by construction). Every
 * block carries its CRC32C: {@code put} refuses data that does not match the checksum it is
 * given, and {@code get} never returns data whose stored checksum does not match — it throws
 * {@link io.torus.CorruptBlockException} instead.
 *
 * <p><b>Durability.</b> Puts and deletes that returned before {@link #flush()} was called are
 * durable (survive {@code kill -9} and power loss, for a persistent store) once it returns.
 * Without a flush they may be lost, but a block is never torn: after a crash a ref reads
 * either its whole, correct content, or as absent, or fails as corrupt.
 *
 * <p><b>Threads.</b> Implementations are thread-safe. Methods block on I/O; the node calls
 * them from its I/O executor, never from a network event loop.
 *
 * <p><b>Errors.</b> A full store throws {@link io.torus.TorusException} with
 * {@link io.torus.ErrorCode#ENOSPC} and stays usable for reads and deletes. I/O failures
 * throw {@link io.torus.TorusException} with {@link io.torus.ErrorCode#EIO}. A closed store
 * throws {@link io.torus.TorusClosedException}.
 */
public interface BlockStore extends AutoCloseable {

  /** A short name for logs and metrics, unique within a node (e.g. the directory). */
  String name();

  /** What this store can do. */
  StoreCapabilities capabilities();

  /**
   * Stores {@code data} (its remaining bytes, at most {@link StoreCapabilities#maxBlockSize()})
   * under {@code ref}. The store copies what it needs; the buffer's position is unchanged.
   *
   * @param crc32c the CRC32C of the remaining bytes; a mismatch throws
   *     {@link io.torus.CorruptBlockException} and stores nothing
   */
  void put(BlockRef ref, ByteBuffer data, int crc32c);

  /**
   * The block's bytes in a new buffer the caller owns (position 0, limit = length), or
   * {@code null} if the store does not hold {@code ref}.
   */
  ByteBuffer get(BlockRef ref);

  /** Whether the store holds {@code ref} (without reading or verifying it). */
  boolean contains(BlockRef ref);

  /** Removes a block; returns whether it was there. Space is reusable after a flush. */
  boolean delete(BlockRef ref);

  /** Calls {@code action} for each ref of the volume the store holds, in no set order. */
  void forEach(long volumeId, Consumer<BlockRef> action);

  /** Flush barrier: every put and delete that returned before this call is durable. */
  void flush();

  /** Total bytes the store can hold. */
  long capacity();

  /** Bytes in use, including per-block overhead. */
  long used();

  /** Flushes and releases the store. Idempotent. */
  @Override
  void close();
}
