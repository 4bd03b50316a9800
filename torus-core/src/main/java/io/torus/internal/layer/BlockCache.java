package io.torus.internal.layer;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.torus.spi.BlockRef;
import io.torus.internal.map.MapNode;
import java.nio.ByteBuffer;

/**
 * The node-wide, size-bounded cache of immutable blocks (as read-only buffers) and decoded
 * map nodes. Safe to share across volumes and threads: a ref names the same bytes forever,
 * so entries never go stale. Values are never handed out writable.
 */
public final class BlockCache {
  private final Cache<BlockRef, Object> cache;
  private final long capacity;

  /** A cache of at most {@code maxBytes} bytes of block data; 0 disables caching. */
  public BlockCache(long maxBytes) {
    this.capacity = Math.max(0, maxBytes);
    this.cache = maxBytes <= 0 ? null : Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .recordStats()
        .weigher((BlockRef k, Object v) -> v instanceof MapNode
            ? ((MapNode) v).weight() : ((ByteBuffer) v).capacity() + 64)
        .build();
  }

  /** Whether anything is cached at all. */
  public boolean enabled() {
    return cache != null;
  }

  /** The most bytes the cache holds. */
  public long capacity() {
    return capacity;
  }

  /** A cached block as a read-only view, or null. */
  public ByteBuffer block(BlockRef ref) {
    if (cache == null) {
      return null;
    }
    Object v = cache.getIfPresent(ref);
    return v instanceof ByteBuffer ? ((ByteBuffer) v).duplicate() : null;
  }

  /** Caches a block; the buffer must never be modified afterwards. */
  public void putBlock(BlockRef ref, ByteBuffer data) {
    if (cache != null) {
      cache.put(ref, data.asReadOnlyBuffer());
    }
  }

  /** A cached map node, or null. */
  public MapNode node(BlockRef ref) {
    if (cache == null) {
      return null;
    }
    Object v = cache.getIfPresent(ref);
    return v instanceof MapNode ? (MapNode) v : null;
  }

  /** Caches a decoded map node. */
  public void putNode(BlockRef ref, MapNode node) {
    if (cache != null) {
      cache.put(ref, node);
    }
  }

  /** Hit ratio since start, for metrics; NaN before any request. */
  public double hitRate() {
    return cache == null ? Double.NaN : cache.stats().hitRate();
  }
}
