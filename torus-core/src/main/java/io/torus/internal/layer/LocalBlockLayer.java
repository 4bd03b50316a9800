package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.storage.StorePool;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Puts each block on {@code replication} distinct stores of this node (one per disk), chosen
 * by a hash of the ref; reads from the first that has a good copy.
 *
 * <p>Failure: a put succeeds only when every copy was stored. A get that meets a corrupt or
 * missing copy tries the next one; if all fail it throws {@link BlockUnavailableException}.
 *
 * <p>Durability: the stores are a {@link StorePool}. A flush returns only after, for every
 * store, an fsync that began after every put and delete it covers has succeeded; concurrent
 * flushes share fsyncs, and a failed fsync fails every flush waiting on it and leaves the
 * store dirty, so no later flush succeeds without a new successful fsync. The flush this
 * layer makes by itself after many deletes (so deleted space becomes reusable) logs a failure
 * at WARN and leaves it to the next flush to report.
 *
 * <p>Threads: the stores are local and may read or write a disk, so the asynchronous methods
 * run the operation on the caller's thread and return a future that is already complete (or
 * failed). They never hand work to another thread; a caller that must not do disk I/O calls
 * them from an I/O thread of its own. Thread-safe: concurrent operations meet only in the
 * stores, which are thread-safe.
 */
public final class LocalBlockLayer implements BlockLayer {
  /** Deletes after which the layer flushes by itself. */
  static final int DELETES_PER_FLUSH = 1024;

  private final StorePool pool;
  private final int replication;

  /**
   * @param stores the node's stores, in a fixed order
   * @param replication copies per block; must not exceed the number of stores
   */
  public LocalBlockLayer(List<BlockStore> stores, int replication) {
    this(pool(stores), replication);
  }

  /**
   * A layer over a node's pool, shared by every volume of the node (so their flushes share
   * fsyncs).
   *
   * @param replication copies per block; must not exceed the number of stores
   */
  public LocalBlockLayer(StorePool pool, int replication) {
    if (replication > pool.size()) {
      throw TorusException.invalid("replication " + replication + " needs at least "
          + replication + " stores; this node has " + pool.size());
    }
    this.pool = pool;
    this.replication = replication;
  }

  /** The pool of a node's stores as the local layer places blocks in them. */
  public static StorePool pool(List<BlockStore> stores) {
    return new StorePool(stores, StorePool.Placement.LOCAL, DELETES_PER_FLUSH);
  }

  /** True when none of the node's stores is persistent (memory stores). */
  @Override
  public boolean memoryResident() {
    return pool.stores().stream().noneMatch(s -> s.capabilities().persistent());
  }

  /**
   * Each write as {@link #put}, one after another on the calling thread (local puts are memory
   * or page-cache copies). Erasure-coded shards are refused: they need a cluster's peers.
   */
  @Override
  public List<CompletableFuture<Void>> putAllAsync(List<Write> writes, boolean durable) {
    List<CompletableFuture<Void>> out = new java.util.ArrayList<>(writes.size());
    for (Write w : writes) {
      out.add(Futures.now(() -> {
        if (w.ref().striped()) {
          throw io.torus.TorusException.invalid("erasure-coded block " + w.ref()
              + " needs a cluster: a local node does not code stripes");
        }
        put(w.ref(), w.data(), io.torus.internal.Crc32c.of(w.data()));
        return null;
      }));
    }
    if (durable) {
      CompletableFuture<Void> flushed = Futures.now(() -> {
        flush();
        return null;
      });
      out.replaceAll(f -> f.thenCompose(v -> flushed));
    }
    return out;
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    for (int i = 0; i < replication; i++) {
      pool.put(pool.at(ref, i), ref, data, crc32c);
    }
  }

  /** Completes on the caller's thread, which stores the copies (see the class comment). */
  @Override
  public CompletableFuture<Void> putAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    return Futures.now(() -> {
      put(ref, data, crc32c);
      return null;
    });
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < replication; i++) {
      BlockStore store = pool.store(pool.at(ref, i));
      try {
        ByteBuffer b = store.get(ref);
        if (b != null) {
          return b;
        }
        problems.add(store.name() + ": missing");
      } catch (CorruptBlockException e) {
        problems.add(store.name() + ": " + e.getMessage());
      } catch (TorusException e) {
        if (e.code() != ErrorCode.EIO) {
          throw e;
        }
        problems.add(store.name() + ": " + e.getMessage());
      }
    }
    throw new BlockUnavailableException("no good copy of block " + ref + " " + problems);
  }

  /** Completes on the caller's thread, which reads the copies (see the class comment). */
  @Override
  public CompletableFuture<ByteBuffer> getAsync(BlockRef ref) {
    return Futures.now(() -> get(ref));
  }

  @Override
  public void delete(BlockRef ref) {
    for (int i = 0; i < replication; i++) {
      pool.delete(pool.at(ref, i), ref);
    }
    pool.deleted(); // deleted space becomes reusable at a store's next flush
  }

  /** Completes on the caller's thread, which deletes the copies (see the class comment). */
  @Override
  public CompletableFuture<Void> deleteAsync(BlockRef ref) {
    return Futures.now(() -> {
      delete(ref);
      return null;
    });
  }

  @Override
  public void flush() {
    pool.flush();
  }

  /** Completes on the caller's thread, which flushes the stores (see the class comment). */
  @Override
  public CompletableFuture<Void> flushAsync() {
    return Futures.now(() -> {
      flush();
      return null;
    });
  }
}
