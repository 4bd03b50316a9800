package io.torus.spi;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A place that keeps immutable blocks: a disk, a directory, memory. The extension point for
 * storage backends; third parties provide one through {@link BlockStoreProvider} and
 * {@link java.util.ServiceLoader}, or hand an instance to the node builder.
 *
 * <p><b>Contract.</b> Blocks are immutable: a ref names one byte string forever (see
 * {@link #put} for a put of a ref already stored). Every block carries its CRC32C:
 * {@code put} refuses data that does not match the checksum it is given, and {@code get}
 * never returns data whose stored checksum does not match — it throws
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
   * <p>If the store already holds {@code ref}, it checks its copy first:
   * <ol>
   *   <li>a valid copy with the same content (same length and CRC32C; a store that can
   *       compare the bytes cheaply compares them too) makes the put a no-op;
   *   <li>a copy that fails its checksum is <em>replaced</em>: the new copy is written to new
   *       space and the store switches {@code ref} to it, and only then frees the old space
   *       (after the next flush for a persistent store). A put that fails meanwhile (for
   *       example {@link io.torus.ErrorCode#ENOSPC}) leaves the old copy in place;
   *   <li>a valid copy with other content makes the put fail with
   *       {@link io.torus.RefConflictException} ({@link io.torus.ErrorCode#EIO}, naming the ref
   *       and the store), storing nothing: two writers used one ref for different bytes.
   * </ol>
   * Concurrent puts of one ref with the same content all succeed and store it once.
   *
   * @param crc32c the CRC32C of the remaining bytes; a mismatch throws
   *     {@link io.torus.CorruptBlockException} and stores nothing
   * @throws io.torus.RefConflictException if a valid stored copy of {@code ref} differs
   */
  void put(BlockRef ref, ByteBuffer data, int crc32c);

  /**
   * The block's bytes in a new buffer the caller owns (position 0, limit = length), or
   * {@code null} if the store does not hold {@code ref}.
   *
   * <p>The buffer may be <em>read-only</em> ({@link ByteBuffer#isReadOnly()}): a store that
   * keeps blocks in memory may hand out a view of its own immutable copy instead of a copy
   * (the built-in memory store does). Its position and limit are the caller's, and it stays
   * valid after the block is deleted, but writing into it throws
   * {@link java.nio.ReadOnlyBufferException} and {@link ByteBuffer#hasArray()} is false; a
   * caller that needs to change the bytes copies them first. A writable buffer is the
   * caller's alone: the store keeps no reference to it.
   */
  ByteBuffer get(BlockRef ref);

  /** Whether the store holds {@code ref} (without reading or verifying it). */
  boolean contains(BlockRef ref);

  /** Removes a block; returns whether it was there. Space is reusable after a flush. */
  boolean delete(BlockRef ref);

  /** Calls {@code action} for each ref of the volume the store holds, in no set order. */
  void forEach(long volumeId, Consumer<BlockRef> action);

  /**
   * Up to {@code max} refs of volume {@code volumeId} the store holds, in {@link BlockRef}
   * natural order, each strictly greater than {@code after}; from the volume's first ref if
   * {@code after} is null. Pass the last ref of a page as {@code after} to get the next one; a
   * page shorter than {@code max} is the last.
   *
   * <p>Paging is weakly consistent: a ref held during the whole paging is returned exactly once
   * and the refs come in strictly increasing order across pages; a ref put or deleted meanwhile
   * may or may not be returned. The default implementation lists and sorts the volume on every
   * call ({@code O(n log n)}); the built-in stores keep an ordered index and answer in
   * {@code O(max + log n)}.
   *
   * @param after the last ref already seen, or null; it need not be held by the store, and may
   *     belong to another volume (a lower volume's ref means from the start, a higher one's
   *     gives an empty page)
   * @param max the largest number of refs to return, {@code > 0}
   * @return a new list the caller owns, never null
   * @throws io.torus.TorusException {@link io.torus.ErrorCode#EINVAL} if {@code max <= 0}
   */
  default List<BlockRef> list(long volumeId, BlockRef after, int max) {
    if (max <= 0) {
      throw io.torus.TorusException.invalid("max <= 0: " + max);
    }
    List<BlockRef> all = new ArrayList<>();
    forEach(volumeId, r -> {
      if (r.volumeId() == volumeId && (after == null || r.compareTo(after) > 0)) {
        all.add(r);
      }
    });
    all.sort(null);
    return new ArrayList<>(all.subList(0, Math.min(max, all.size())));
  }

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
