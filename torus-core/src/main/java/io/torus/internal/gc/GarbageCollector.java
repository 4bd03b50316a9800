package io.torus.internal.gc;

import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.GcResult;
import io.torus.TorusException;
import io.torus.internal.map.BlockMap;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes blocks that no head (or snapshot) can reach and that are not of a still-pending
 * generation, from a node's own stores.
 *
 * <p><b>Safety.</b> A cycle first reads the complete live set from the metadata service
 * ({@link LiveSet}); if any of that fails, the cycle ends with the error and deletes nothing.
 * Writers may commit while a cycle runs: a block a new head reaches is either reachable from
 * the head the cycle read (it was marked) or of a generation above that head's (pending, so
 * kept); blocks of volumes created after the listing have higher ids and are kept.
 *
 * <p><b>Concurrency.</b> One cycle at a time per collector; within it up to
 * {@value #PARALLEL_SWEEPS} holders are swept at once, each by its own short-lived thread
 * (the cycle's thread is one of them). Deletes are flushed page by page and at the end of
 * each holder's sweep, so their space becomes reusable.
 */
public final class GarbageCollector {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);
  /** Refs a sweep asks a holder for at a time. */
  static final int PAGE = 1024;
  /** Holders a cycle sweeps at the same time. */
  static final int PARALLEL_SWEEPS = 16;

  private final MetadataService meta;
  private final Supplier<List<BlockHolder>> holders;
  private final long deletesPerSecond;
  private final BlockMap.NodeReader reader;
  private final Supplier<Collection<BlockRef>> extraRoots;
  private final ReentrantLock running = new ReentrantLock();

  /**
   * @param reader reads map nodes (through the node's cache); a read failure aborts a cycle
   * @param extraRoots roots this node keeps alive besides the metadata's heads (the heads its
   *     read-only handles were opened at); read after the metadata, each cycle
   */
  public GarbageCollector(MetadataService meta, List<BlockStore> stores,
      BlockMap.NodeReader reader, Supplier<Collection<BlockRef>> extraRoots) {
    this(meta, () -> stores.stream().map(BlockHolder::of).toList(), reader, extraRoots, 0);
  }

  /**
   * A collector over any holders (for a cluster: every peer).
   *
   * @param holders read at the start of each cycle
   * @param deletesPerSecond the most deletes a cycle sends per second, 0 for no limit, so
   *     foreground I/O keeps priority
   */
  public GarbageCollector(MetadataService meta, Supplier<List<BlockHolder>> holders,
      BlockMap.NodeReader reader, Supplier<Collection<BlockRef>> extraRoots,
      long deletesPerSecond) {
    this.meta = meta;
    this.holders = holders;
    this.deletesPerSecond = deletesPerSecond;
    this.reader = reader;
    this.extraRoots = extraRoots;
  }

  /**
   * Sweeps one holder; returns {scanned, deleted}, and adds its deletes to {@code deleted}
   * (shared by the cycle's sweeps: the delete rate is the cycle's, not each sweep's).
   */
  private long[] sweep(BlockHolder store, LiveSet live, long started, AtomicLong total) {
    long scanned = 0;
    long deleted = 0;
    for (long volume = 1; volume <= live.maxVolumeId; volume++) {
      // One page in memory at a time; deleting a page's garbage before asking for the next
      // is safe: pages continue after the last ref seen, not at an offset.
      BlockRef after = null;
      for (List<BlockRef> page = store.page(volume, null, PAGE); !page.isEmpty();
          page = store.page(volume, after, PAGE)) {
        scanned += page.size();
        List<BlockRef> garbage = new ArrayList<>();
        for (BlockRef ref : page) {
          if (live.isGarbage(ref)) {
            garbage.add(ref);
          }
        }
        if (!garbage.isEmpty()) {
          int d = store.deleteAll(garbage);
          deleted += d;
          // space is reusable after a barrier: give it back as the sweep goes, not at its
          // end (a sweep of a busy cluster takes minutes)
          store.flush();
          pace(started, total.addAndGet(d));
        }
        after = page.get(page.size() - 1);
      }
    }
    store.flush();
    return new long[] {scanned, deleted};
  }

  /**
   * Sweeps every holder, up to {@link #PARALLEL_SWEEPS} at a time (a sweep is round trips to
   * one peer; one after the other they would make a cycle grow with the cluster's size times
   * the round-trip time); returns {scanned, deleted}. A holder that fails (a peer restarting)
   * ends its own sweep, not the others'; the first failure is rethrown after all ended.
   */
  private long[] sweepAll(List<BlockHolder> all, LiveSet live) {
    long started = System.nanoTime();
    AtomicLong scanned = new AtomicLong();
    AtomicLong deleted = new AtomicLong();
    AtomicReference<RuntimeException> failed = new AtomicReference<>();
    ConcurrentLinkedQueue<BlockHolder> todo = new ConcurrentLinkedQueue<>(all);
    Runnable worker = () -> {
      for (BlockHolder store; (store = todo.poll()) != null; ) {
        try {
          long[] n = sweep(store, live, started, deleted);
          scanned.addAndGet(n[0]);
        } catch (RuntimeException e) {
          log.warn("garbage collection: the sweep of {} stopped (the next cycle retries): {}",
              store.name(), e.toString());
          failed.compareAndSet(null, e);
        }
      }
    };
    int threads = Math.min(PARALLEL_SWEEPS, all.size());
    List<Thread> sweepers = new ArrayList<>();
    for (int i = 1; i < threads; i++) {
      Thread t = new Thread(worker, "torus-gc-sweep-" + i);
      t.setDaemon(true);
      t.start();
      sweepers.add(t);
    }
    worker.run(); // the cycle's own thread sweeps too
    for (Thread t : sweepers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(ErrorCode.EIO, "garbage collection interrupted", e);
      }
    }
    if (failed.get() != null) {
      throw failed.get();
    }
    return new long[] {scanned.get(), deleted.get()};
  }

  /** Sleeps as needed to keep deletes at or under the configured rate. */
  private void pace(long started, long deleted) {
    if (deletesPerSecond <= 0) {
      return;
    }
    long due = started + deleted * 1_000_000_000L / deletesPerSecond;
    long wait = due - System.nanoTime();
    if (wait > 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(wait);
    }
  }

  /** Runs one full cycle; throws (having deleted nothing) if the live set can't be read. */
  public GcResult collect() {
    running.lock();
    try {
      LiveSet live = LiveSet.read(meta, reader, extraRoots.get());
      long[] n = sweepAll(holders.get(), live);
      GcResult r = new GcResult(live.marked(), n[0], n[1]);
      log.debug("garbage collection: {}", r);
      return r;
    } finally {
      running.unlock();
    }
  }
}
