package io.torus.internal.volume;

import io.torus.internal.Crc32c;
import io.torus.CorruptBlockException;
import io.torus.TorusException;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.map.MapNode;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The block layer and cache of one open volume, as the engine uses them: data blocks and map
 * nodes read through the cache, written to both, deleted and flushed.
 *
 * <p><b>Ownership.</b> A buffer from {@link #block} or {@link #cached} is shared with the
 * cache: the caller must not modify it. One from {@link #fetch} is the caller's own. Data
 * blocks of a {@linkplain BlockLayer#memoryResident memory-resident} layer bypass the cache
 * (they would be held twice); map nodes are always cached, decoded.
 *
 * <p><b>Concurrency.</b> No state of its own; safe from any thread, as the layer and the
 * cache are.
 */
final class BlockIo {
  private final BlockLayer layer;
  private final BlockCache cache;
  private final String volume;
  private final int blockSize;
  /** Whether data blocks go through the cache: not for a layer that is in memory already. */
  private final boolean cacheData;
  private final boolean memoryResident;

  BlockIo(BlockLayer layer, BlockCache cache, String volume, int blockSize) {
    this.layer = layer;
    this.cache = cache;
    this.volume = volume;
    this.blockSize = blockSize;
    this.memoryResident = layer.memoryResident();
    this.cacheData = cache.enabled() && !memoryResident;
  }

  /** Reads a data block, possibly shared with the cache: the caller must not modify it. */
  ByteBuffer block(BlockRef ref) {
    if (!cacheData) {
      return fetch(ref);
    }
    ByteBuffer b = cache.block(ref);
    if (b == null) {
      b = fetch(ref);
      cache.putBlock(ref, b);
    }
    return b;
  }

  /** The cached bytes of a data block (shared: do not modify), or null. */
  ByteBuffer cached(BlockRef ref) {
    return cacheData ? cache.block(ref) : null;
  }

  /**
   * {@link #block} if that needs no I/O wait: the block is cached, or the layer is
   * memory-resident; else throws {@link WouldBlock}.
   */
  ByteBuffer blockNow(BlockRef ref) {
    if (!cacheData) {
      if (!memoryResident) {
        throw WouldBlock.INSTANCE;
      }
      return fetch(ref);
    }
    ByteBuffer b = cache.block(ref);
    if (b == null) {
      throw WouldBlock.INSTANCE;
    }
    return b;
  }

  /** {@link #node} if the node is cached or the layer memory-resident; else throws WouldBlock. */
  MapNode nodeNow(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node != null) {
      return node;
    }
    if (!memoryResident) {
      throw WouldBlock.INSTANCE;
    }
    return node(ref);
  }

  /** Whether gets of this layer are memory copies that never wait. */
  boolean memoryResident() {
    return memoryResident;
  }

  /** Reads a data block from the layer, bypassing the cache; the buffer is the caller's. */
  ByteBuffer fetch(BlockRef ref) {
    return checkSize(ref, layer.get(ref));
  }

  private ByteBuffer checkSize(BlockRef ref, ByteBuffer b) {
    if (b.remaining() != blockSize) {
      throw new CorruptBlockException("block " + ref + " has " + b.remaining()
          + " bytes, volume '" + volume + "' has " + blockSize + "-byte blocks");
    }
    return b;
  }

  /** Reads a map node through the cache. */
  MapNode node(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node == null) {
      node = MapNode.decode(ref, layer.get(ref));
      cache.putNode(ref, node);
    }
    return node;
  }

  /** Writes a data block (with its CRC32C) to the layer and the cache. */
  void putBlock(BlockRef ref, ByteBuffer data) {
    layer.put(ref, data, Crc32c.of(data));
    cacheBlock(ref, data);
  }

  /** Writes a map node (with its CRC32C) to the layer and the cache. */
  void putNode(BlockRef ref, MapNode node) {
    ByteBuffer bytes = node.encode();
    layer.put(ref, bytes, Crc32c.of(bytes));
    cache.putNode(ref, node);
  }

  void delete(BlockRef ref) {
    layer.delete(ref);
  }

  /** Starts deleting a block and does not wait: a failed delete only leaves garbage. */
  CompletableFuture<Void> deleteLater(BlockRef ref) {
    try {
      return layer.deleteAsync(ref);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** A block put of a write-out or commit: the ref and the bytes it names. */
  record Put(BlockRef ref, byte[] data) {}

  /**
   * Puts every block at once and returns when all are stored, else throws the first failure
   * (after all have ended); see {@link #startPuts}. On local stores one put runs on this
   * thread (a commit of one block costs no hand-off).
   */
  void putAll(List<Put> puts, Executor pool) {
    if (puts.isEmpty()) {
      return;
    }
    if (layer.readParallelism() > 1) {
      joinAll(startPuts(puts, pool));
      return;
    }
    List<CompletableFuture<Void>> writes = new ArrayList<>(startPuts(puts.subList(1,
        puts.size()), pool));
    try {
      putBlock(puts.get(0).ref(), ByteBuffer.wrap(puts.get(0).data()));
    } catch (RuntimeException e) {
      writes.add(CompletableFuture.failedFuture(e));
    }
    joinAll(writes);
  }

  /**
   * Starts every put at once, one future per put (in order), each completing once its block
   * is stored and cached. On a layer whose puts are round trips they go through
   * {@link BlockLayer#putAsync}, with no thread waiting per put; on local stores they run on
   * {@code pool}. The futures complete on any thread: dependent work that may block belongs
   * on an executor.
   */
  List<CompletableFuture<Void>> startPuts(List<Put> puts, Executor pool) {
    if (layer.readParallelism() > 1) {
      return putAllThenCache(puts, false);
    }
    List<CompletableFuture<Void>> writes = new ArrayList<>(puts.size());
    for (Put p : puts) {
      ByteBuffer data = ByteBuffer.wrap(p.data());
      writes.add(CompletableFuture.runAsync(() -> putBlock(p.ref(), data), pool));
    }
    return writes;
  }

  /**
   * Puts through the layer's {@link BlockLayer#putAllAsync} (all of a write-out or flush in
   * one call, so an erasure-coded layer sees whole stripes), each block cached as it lands.
   */
  private List<CompletableFuture<Void>> putAllThenCache(List<Put> puts, boolean durable) {
    List<BlockLayer.Write> writes = new ArrayList<>(puts.size());
    for (Put p : puts) {
      writes.add(new BlockLayer.Write(p.ref(), ByteBuffer.wrap(p.data())));
    }
    List<CompletableFuture<Void>> started;
    try {
      started = layer.putAllAsync(writes, durable);
    } catch (RuntimeException e) {
      started = java.util.Collections.nCopies(puts.size(), CompletableFuture.failedFuture(e));
    }
    List<CompletableFuture<Void>> out = new ArrayList<>(puts.size());
    for (int i = 0; i < puts.size(); i++) {
      BlockLayer.Write w = writes.get(i);
      out.add(started.get(i).thenRun(() -> cacheBlock(w.ref(), w.data().duplicate())));
    }
    return out;
  }

  private void cacheBlock(BlockRef ref, ByteBuffer data) {
    if (cacheData) {
      cache.putBlock(ref, data);
    }
  }

  /**
   * Fetches many data blocks at once (every get issued before any answer is awaited) and
   * caches them; the buffers in the returned map (ref to bytes) are shared with the cache.
   * Throws the first failure.
   */
  java.util.Map<BlockRef, ByteBuffer> fetchAll(List<BlockRef> refs) {
    java.util.Map<BlockRef, CompletableFuture<ByteBuffer>> early = new java.util.HashMap<>();
    List<BlockRef> rest = new ArrayList<>(refs.size());
    for (BlockRef r : refs) {
      CompletableFuture<ByteBuffer> w = warming.get(r);
      if (w != null) {
        early.put(r, w);
      } else {
        rest.add(r);
      }
    }
    List<ByteBuffer> got = rest.isEmpty() ? List.of() : layer.getAllAsync(rest).join();
    java.util.Map<BlockRef, ByteBuffer> out = new java.util.HashMap<>(refs.size() * 2);
    for (int i = 0; i < rest.size(); i++) {
      ByteBuffer b = checkSize(rest.get(i), got.get(i));
      cacheBlock(rest.get(i), b);
      out.put(rest.get(i), b);
    }
    for (var e : early.entrySet()) {
      ByteBuffer b;
      try {
        b = e.getValue().join();
      } catch (RuntimeException failed) {
        b = fetch(e.getKey()); // the early get failed: once more, reporting its own error
      }
      out.put(e.getKey(), checkSize(e.getKey(), b).duplicate());
    }
    return out;
  }

  /** Early gets in flight ({@link #warm}), by ref. */
  private final java.util.concurrent.ConcurrentHashMap<BlockRef, CompletableFuture<ByteBuffer>>
      warming = new java.util.concurrent.ConcurrentHashMap<>();
  /** Early gets in flight at most. */
  static final int MAX_WARMING = 256;

  /**
   * Starts fetching a committed block into the cache without waiting, where a get is a round
   * trip: a partial write will need it when it is written out or committed
   * ({@link #fetchAll} then waits for this get instead of sending another). Best effort: does
   * nothing if the block is cached, already coming, or too many are.
   */
  void warm(BlockRef ref) {
    if (!cacheData || layer.readParallelism() <= 1 || warming.size() >= MAX_WARMING
        || cache.block(ref) != null) {
      return;
    }
    CompletableFuture<ByteBuffer> f = new CompletableFuture<>();
    if (warming.putIfAbsent(ref, f) != null) {
      return;
    }
    CompletableFuture<ByteBuffer> get;
    try {
      get = layer.getAsync(ref);
    } catch (RuntimeException e) {
      get = CompletableFuture.failedFuture(e);
    }
    get.whenComplete((b, e) -> {
      if (e == null && b != null && b.remaining() == blockSize) {
        cacheBlock(ref, b);
      }
      warming.remove(ref, f);
      if (e != null) {
        f.completeExceptionally(e);
      } else {
        f.complete(b);
      }
    });
  }

  /** Makes the blocks put so far durable in the layer. */
  void flush() {
    layer.flush();
  }

  /** Starts a barrier over every put so far (see {@link BlockLayer#flushAsync}). */
  CompletableFuture<Void> flushLater() {
    try {
      return layer.flushAsync();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Starts every put at once, each durable when its future completes
   * ({@link BlockLayer#putDurableAsync}), and caches the blocks as they land.
   */
  List<CompletableFuture<Void>> startDurablePuts(List<Put> puts) {
    return putAllThenCache(puts, true);
  }


  /**
   * Whether a read of {@code length} bytes gains from fetching its blocks in parallel first:
   * it spans several blocks and the layer's gets are round trips that can overlap.
   */
  boolean prefetchPays(int length) {
    return layer.readParallelism() > 1 && length > blockSize;
  }

  /** Waits for every future; then throws the first failure, if any. */
  static void joinAll(List<CompletableFuture<Void>> futures) {
    TorusException first = null;
    for (CompletableFuture<Void> f : futures) {
      try {
        f.join();
      } catch (RuntimeException e) {
        if (first == null) {
          first = TorusException.of(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
