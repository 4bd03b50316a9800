package io.torus.internal.storage;

import io.torus.TorusException;
import io.torus.internal.ring.Hash64;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's stores (one per disk) as one pool: which store is the home of a ref, which stores
 * have puts and deletes not yet covered by a flush, and the flush barrier. Used by the
 * embedded {@code LocalBlockLayer} and by the store side of the peer protocol.
 *
 * <p><b>Placement.</b> Store {@code i} of a ref, for {@code i = 0 .. size-1}, is
 * {@code (home + i) mod size}, where the home comes from the pool's {@link Placement}.
 * Placement decides where existing data is found, so it never changes for a given use.
 *
 * <p><b>Invariants (durability).</b> Each store has a {@link StoreFlusher}. Every put and
 * delete goes through {@link #put} or {@link #delete}, which count the mutation only after the
 * store's call returned; so a barrier ({@link #barrier}, {@link #flush}) returns only after an
 * fsync that began after every mutation that returned before the barrier was called, and
 * succeeded. A failed fsync fails every barrier waiting on it and leaves the store dirty: no
 * later barrier succeeds without a new successful fsync. A store reuses deleted space only
 * after a flush, so {@link #deleted} flushes every store by itself after
 * {@code deletesPerFlush} deletes; a failure there is logged at WARN and reported by the next
 * barrier.
 *
 * <p><b>Checks.</b> Every store is wrapped in a {@link CheckedBlockStore} (once), so size,
 * checksum and null checks hold whatever store the pool was given.
 *
 * <p><b>Concurrency.</b> Thread-safe. Puts and deletes take no lock of the pool (one atomic
 * add each); barriers of one store share fsyncs (group commit, see {@link StoreFlusher}).
 */
public final class StorePool {
  private static final Logger log = LoggerFactory.getLogger(StorePool.class);

  /** Which store is a ref's home. Each is a pure function of the ref and the store count. */
  public enum Placement {
    /** {@link Hash64#ref} modulo the store count (unsigned): where a peer keeps its copy. */
    PEER {
      @Override
      int home(BlockRef ref, int stores) {
        return (int) Long.remainderUnsigned(Hash64.ref(ref), stores);
      }
    },
    /**
     * A multiply-xor mix of the ref's fields modulo the store count: where the embedded,
     * single-node layer keeps its copies (kept so existing data directories read as written).
     */
    LOCAL {
      @Override
      int home(BlockRef ref, int stores) {
        long h = ref.volumeId() * 0x9E3779B97F4A7C15L + ref.generation() * 0xC2B2AE3D27D4EB4FL
            + ref.sequence() * 0x165667B19E3779F9L + ref.kind().id();
        h ^= h >>> 29;
        return (int) Math.floorMod(h, (long) stores);
      }
    };

    abstract int home(BlockRef ref, int stores);
  }

  private final List<BlockStore> stores;
  private final StoreFlusher[] flushers;
  private final Placement placement;
  private final int deletesPerFlush;
  private final AtomicLong deletes = new AtomicLong();

  /**
   * @param stores the node's stores, in a fixed order (placement depends on it)
   * @param placement how a ref's home store is chosen
   * @param deletesPerFlush after how many {@link #deleted} calls the pool flushes by itself,
   *     {@code > 0}
   */
  public StorePool(List<BlockStore> stores, Placement placement, int deletesPerFlush) {
    if (deletesPerFlush < 1) {
      throw TorusException.invalid("deletesPerFlush < 1: " + deletesPerFlush);
    }
    this.stores = CheckedBlockStore.wrapAll(stores);
    this.placement = Objects.requireNonNull(placement, "placement");
    this.deletesPerFlush = deletesPerFlush;
    this.flushers = new StoreFlusher[this.stores.size()];
    for (int i = 0; i < flushers.length; i++) {
      flushers[i] = new StoreFlusher(this.stores.get(i));
    }
  }

  /** The number of stores. */
  public int size() {
    return stores.size();
  }

  /** Store {@code index} (wrapped in its checks); read it only, mutate through the pool. */
  public BlockStore store(int index) {
    return stores.get(index);
  }

  /** The stores, in order (wrapped in their checks); an immutable list. */
  public List<BlockStore> stores() {
    return stores;
  }

  /** The index of the ref's home store. */
  public int home(BlockRef ref) {
    return placement.home(ref, stores.size());
  }

  /** The index of the ref's {@code i}-th store: {@code (home + i) mod size}. */
  public int at(BlockRef ref, int i) {
    return (home(ref) + i) % stores.size();
  }

  /** The index of the store holding the ref, searching from its home; -1 if none. */
  public int holder(BlockRef ref) {
    int s = home(ref);
    for (int i = 0; i < stores.size(); i++) {
      int k = (s + i) % stores.size();
      if (stores.get(k).contains(ref)) {
        return k;
      }
    }
    return -1;
  }

  /** Puts into store {@code index}; a barrier that starts after this returns covers it. */
  public void put(int index, BlockRef ref, ByteBuffer data, int crc32c) {
    stores.get(index).put(ref, data, crc32c);
    flushers[index].mutated(); // after the put: a barrier that starts now covers it
  }

  /** Deletes from store {@code index}; returns whether it held the ref. */
  public boolean delete(int index, BlockRef ref) {
    boolean had = stores.get(index).delete(ref);
    if (had) {
      flushers[index].mutated();
    }
    return had;
  }

  /**
   * Counts one delete of the caller's; every {@code deletesPerFlush}-th flushes every store so
   * deleted space becomes reusable even if no barrier comes. A failure is not this delete's:
   * it is logged, the store stays dirty and the next barrier reports it.
   */
  public void deleted() {
    if (deletes.incrementAndGet() % deletesPerFlush != 0) {
      return;
    }
    for (StoreFlusher f : flushers) {
      try {
        f.barrier();
      } catch (TorusException e) {
        log.warn("flush of store {} after {} deletes failed (the next barrier retries and "
            + "reports it): {}", f.store().name(), deletesPerFlush, e.toString());
      }
    }
  }

  /** Whether store {@code index} has a put or delete not yet covered by a successful fsync. */
  public boolean dirty(int index) {
    return flushers[index].dirty();
  }

  /**
   * Barrier on store {@code index}: every put and delete of it that returned before this call
   * is durable on return.
   *
   * @throws TorusException the fsync's error (EIO for a non-Torus one), or EIO if interrupted
   */
  public void barrier(int index) {
    flushers[index].barrier();
  }

  /**
   * Barrier on every store: each one's barrier runs (a failure of one does not skip the
   * others), then the first failure is thrown.
   */
  public void flush() {
    StoreFlusher.barrierAll(flushers);
  }

  /** Total capacity of the stores, in bytes. */
  public long capacity() {
    long c = 0;
    for (BlockStore s : stores) {
      c += s.capacity();
    }
    return c;
  }

  /** Bytes used over all stores. */
  public long used() {
    long u = 0;
    for (BlockStore s : stores) {
      u += s.used();
    }
    return u;
  }
}
