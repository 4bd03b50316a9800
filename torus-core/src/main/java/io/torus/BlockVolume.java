package io.torus;

import io.torus.internal.Futures;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An open volume: bytes addressed by offset, read and written at any offset and length
 * inside {@link #size()}, made durable by {@link #flush()}.
 *
 * <p><b>Durability.</b> A completed write is visible to every later read through any handle
 * of this node, but may be lost on a crash until a flush that started after it completes.
 * A completed flush means the data survives the loss of any {@code replication - 1} peers
 * and of this process. A flush that cannot guarantee that fails; it never reports success.
 *
 * <p><b>Concurrency.</b> Safe for use by many threads: reads and writes to any ranges may
 * run concurrently, and flushes may race with writes. A flush covers every write that
 * completed before the flush was called. A read never returns, inside one 4 KiB-aligned
 * sector, a mix of bytes that no single write produced.
 *
 * <p><b>Futures.</b> Async methods never block the caller; their futures complete on the
 * node's I/O executor, never on a network event loop of the node. A read or write that needs
 * no waiting (its blocks are in memory, no lock it needs is held, the write buffer has room)
 * is done on the caller's thread instead: its future is complete when the method returns.
 * Failures complete the future with a
 * {@link TorusException}. The blocking twins rethrow that exception unwrapped.
 *
 * <p><b>Errors.</b> Misuse (negative offset, range past the end, write to a read-only
 * volume, use after close) fails with {@link ErrorCode#EINVAL}, {@link ErrorCode#EPERM} or
 * {@link TorusClosedException} naming the bad value. After a lost lease or a refused commit
 * every write and flush fails with {@link LeaseLostException} or
 * {@link ConcurrentUpdateException}.
 */
public interface BlockVolume extends AutoCloseable {

  /** The volume's name. */
  String name();

  /** The volume's id. */
  long id();

  /** Current size in bytes. Grows when the volume is resized. */
  long size();

  /** Block size in bytes. */
  int blockSize();

  /** Whether this handle refuses writes (opened read-only, or a snapshot). */
  boolean isReadOnly();

  /**
   * Reads {@code dst.remaining()} bytes starting at {@code offset} into {@code dst}; on
   * success the buffer's position has advanced to its limit. The caller must not touch
   * {@code dst} until the future completes.
   */
  CompletableFuture<Void> readAsync(long offset, ByteBuffer dst);

  /**
   * Writes {@code src.remaining()} bytes at {@code offset}; on success the buffer's position
   * has advanced to its limit. The caller must not touch {@code src} until completion.
   */
  CompletableFuture<Void> writeAsync(long offset, ByteBuffer src);

  /** Makes every write completed before this call durable (see class doc). */
  CompletableFuture<Void> flushAsync();

  /**
   * Discards a range: whole blocks become holes, partial blocks are zeroed. Afterwards the
   * range reads as zeros.
   */
  CompletableFuture<Void> trimAsync(long offset, long length);

  /** Makes a range read as zeros; whole blocks become holes, so it costs no space. */
  CompletableFuture<Void> writeZeroesAsync(long offset, long length);

  /**
   * The allocation map of a range, as consecutive extents covering exactly
   * {@code [offset, offset + length)}, adjacent extents of the same state merged.
   */
  CompletableFuture<List<Extent>> extentsAsync(long offset, long length);

  /** Blocking {@link #readAsync}. */
  default void read(long offset, ByteBuffer dst) {
    Futures.join(readAsync(offset, dst));
  }

  /** Blocking {@link #writeAsync}. */
  default void write(long offset, ByteBuffer src) {
    Futures.join(writeAsync(offset, src));
  }

  /** Blocking {@link #flushAsync}. */
  default void flush() {
    Futures.join(flushAsync());
  }

  /** Blocking {@link #trimAsync}. */
  default void trim(long offset, long length) {
    Futures.join(trimAsync(offset, length));
  }

  /** Blocking {@link #writeZeroesAsync}. */
  default void writeZeroes(long offset, long length) {
    Futures.join(writeZeroesAsync(offset, length));
  }

  /** Blocking {@link #extentsAsync}. */
  default List<Extent> extents(long offset, long length) {
    return Futures.join(extentsAsync(offset, length));
  }

  /**
   * Flushes outstanding writes and releases the volume. Throws if that last flush fails; the
   * handle is closed either way. Idempotent.
   */
  @Override
  void close();
}
