package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.storage.StoreFlusher;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts each block on {@code replication} distinct stores of this node (one per disk), chosen
 * by a hash of the ref; reads from the first that has a good copy.
 *
 * <p>Failure: a put succeeds only when every copy was stored. A get that meets a corrupt or
 * missing copy tries the next one; if all fail it throws {@link BlockUnavailableException}.
 *
 * <p>Durability: each store has a {@link StoreFlusher}. A flush returns only after, for every
 * store, an fsync that began after every put and delete it covers has succeeded; concurrent
 * flushes share fsyncs, and a failed fsync fails every flush waiting on it and leaves the
 * store dirty, so no later flush succeeds without a new successful fsync. The flush this
 * layer makes by itself after many deletes (so deleted space becomes reusable) logs a failure
 * at WARN and leaves it to the next flush to report.
 */
public final class LocalBlockLayer implements BlockLayer {
  private static final Logger log = LoggerFactory.getLogger(LocalBlockLayer.class);
  /** Deletes after which the layer flushes by itself. */
  static final int DELETES_PER_FLUSH = 1024;

  private final List<BlockStore> stores;
  private final int replication;
  private final StoreFlusher[] flushers;
  private final AtomicLong deletes = new AtomicLong();

  /**
   * @param stores the node's stores, in a fixed order
   * @param replication copies per block; must not exceed the number of stores
   */
  public LocalBlockLayer(List<BlockStore> stores, int replication) {
    if (replication > stores.size()) {
      throw TorusException.invalid("replication " + replication + " needs at least "
          + replication + " stores; this node has " + stores.size());
    }
    this.stores = List.copyOf(stores);
    this.replication = replication;
    this.flushers = new StoreFlusher[stores.size()];
    for (int i = 0; i < flushers.length; i++) {
      flushers[i] = new StoreFlusher(this.stores.get(i));
    }
  }

  private int first(BlockRef ref) {
    long h = ref.volumeId() * 0x9E3779B97F4A7C15L + ref.generation() * 0xC2B2AE3D27D4EB4FL
        + ref.sequence() * 0x165667B19E3779F9L + ref.kind().id();
    h ^= h >>> 29;
    return (int) Math.floorMod(h, (long) stores.size());
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    int start = first(ref);
    for (int i = 0; i < replication; i++) {
      int s = (start + i) % stores.size();
      stores.get(s).put(ref, data, crc32c);
      flushers[s].mutated(); // after the put: a barrier that starts now covers it
    }
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    int start = first(ref);
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < replication; i++) {
      BlockStore store = stores.get((start + i) % stores.size());
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

  @Override
  public void delete(BlockRef ref) {
    int start = first(ref);
    for (int i = 0; i < replication; i++) {
      int s = (start + i) % stores.size();
      if (stores.get(s).delete(ref)) {
        flushers[s].mutated();
      }
    }
    // deleted space becomes reusable at a store's next flush: make sure one comes
    if (deletes.incrementAndGet() % DELETES_PER_FLUSH == 0) {
      for (StoreFlusher f : flushers) {
        try {
          f.barrier();
        } catch (TorusException e) {
          log.warn("flush of store {} after {} deletes failed (the next flush retries and "
              + "reports it): {}", f.store().name(), DELETES_PER_FLUSH, e.toString());
        }
      }
    }
  }

  @Override
  public void flush() {
    StoreFlusher.barrierAll(flushers);
  }
}
