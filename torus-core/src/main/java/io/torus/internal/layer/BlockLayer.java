package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where an open volume puts and gets its blocks: the stores of this node, or the peers of a
 * cluster. One instance serves one volume (it knows the volume's redundancy and epoch).
 *
 * <p><b>Two forms of each operation.</b> The asynchronous methods ({@link #putAsync},
 * {@link #getAsync}, {@link #deleteAsync}, {@link #flushAsync}) return a future and never make
 * the calling thread wait for a peer; each implementation states which thread completes its
 * futures (a dependent action that blocks belongs on an executor of its own, through the
 * {@code *Async} methods of {@link CompletableFuture}). Their futures fail with the
 * {@link io.torus.TorusException} the synchronous twin throws, possibly wrapped in a
 * {@link java.util.concurrent.CompletionException}. The synchronous methods block until the
 * operation is done and throw that exception itself; callers run them on the node's I/O
 * executor.
 *
 * <p>Thread-safe. Many operations may be outstanding at once, of any kinds: a multi-block read
 * issues its {@link #getAsync} calls together ({@link #getAllAsync}), and none waits for
 * another on a lock of the layer. A flush covers every put whose future completed (or whose
 * synchronous call returned) before the flush was called.
 *
 * <p>Every operation is abstract on purpose: a wrapping layer (checksum, cache, encryption)
 * must implement each operation, so none can bypass it.
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
   * {@link #put} without waiting: the future completes once the block is stored as the
   * volume's redundancy requires, or fails with the exception {@code put} would throw. The
   * content of {@code data} must not change until the future completes.
   */
  CompletableFuture<Void> putAsync(BlockRef ref, ByteBuffer data, int crc32c);

  /** One block of {@link #putAllAsync}: its ref and bytes (the remaining ones). */
  record Write(BlockRef ref, ByteBuffer data) {}

  /**
   * Many puts at once: one future per write, in order, each as {@link #putAsync} (with
   * {@code durable}: as {@link #putDurableAsync}) would complete it. Shards of an
   * erasure-coded stripe ({@linkplain BlockRef#striped striped} data refs) must be put by one
   * call, all of a stripe's together: the layer encodes each stripe's parity from the shards
   * of the call, and a position of the stripe with no block in the call stays absent for
   * good. A stripe's futures all fail if any of its shards (data or parity) could not be
   * stored: a data shard is acknowledged only with the redundancy of its whole stripe.
   */
  List<CompletableFuture<Void>> putAllAsync(List<Write> writes, boolean durable);

  /**
   * The block's bytes, verified against their checksum. The caller may keep the buffer; it is
   * either its own (it may modify it) or a read-only view of bytes that never change (a memory
   * store's copy), never a buffer someone else may write. Throws
   * {@link io.torus.BlockUnavailableException} if no good copy can be read.
   */
  ByteBuffer get(BlockRef ref);

  /**
   * {@link #get} without waiting: the block's bytes (a buffer as {@code get} returns), or a failure
   * with the exception {@code get} would throw ({@link io.torus.BlockUnavailableException} for
   * a block with no good copy).
   */
  CompletableFuture<ByteBuffer> getAsync(BlockRef ref);

  /**
   * Many blocks at once: every get is issued before any answer is awaited. Completes with the
   * buffers in the order of {@code refs} once all are read, or fails with the first failure
   * in that order (the other gets still run to their end).
   */
  default CompletableFuture<List<ByteBuffer>> getAllAsync(List<BlockRef> refs) {
    List<CompletableFuture<ByteBuffer>> gets = new java.util.ArrayList<>(refs.size());
    for (BlockRef ref : refs) {
      gets.add(getAsync(ref));
    }
    return CompletableFuture.allOf(gets.toArray(CompletableFuture[]::new))
        .handle((v, e) -> {
          List<ByteBuffer> out = new java.util.ArrayList<>(gets.size());
          for (CompletableFuture<ByteBuffer> g : gets) {
            out.add(g.getNow(null)); // all are done: rethrows the first failure in order
          }
          return out;
        });
  }

  /**
   * Deletes every copy of a block that is known to be garbage (never reachable from any
   * head). Deleting a missing block is not an error.
   */
  void delete(BlockRef ref);

  /**
   * {@link #delete} without waiting. The future completes once every place that may hold a
   * copy was asked (best effort, as for {@code delete}); a caller that does not need to know
   * may drop it.
   */
  CompletableFuture<Void> deleteAsync(BlockRef ref);

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

  /**
   * {@link #flush} without waiting: completes once every put that completed before this call
   * is durable, or fails with the exception {@code flush} would throw.
   */
  CompletableFuture<Void> flushAsync();

  /**
   * A put that is durable when its future completes, as if a barrier had followed it (a
   * replicated layer asks each peer to force its copy before answering: one round trip).
   */
  default CompletableFuture<Void> putDurableAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    return putAsync(ref, data, crc32c).thenCompose(v -> flushAsync());
  }

  /**
   * The peers' flush journal, for layers whose blocks live on peers; empty where flushes
   * commit the head directly (a local layer).
   */
  default java.util.Optional<FlushJournal> journal() {
    return java.util.Optional.empty();
  }
}
