package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The blocks an open volume wrote out early and then replaced before committing them, on
 * their way to deletion. Only the dirty map ever referred to such a block (it was never
 * committed), and its entry was replaced under the stripe lock before it was queued here, so
 * no read reaches it any more. Without this, a long run of writes with no flush would fill the
 * stores with dead blocks no collector may touch (they are pending).
 *
 * <p>The deletes run in the background on the I/O pool, in the order queued, and are drained
 * at the start of each flush. At most {@link #MAX_QUEUED} wait: past that the writer deletes
 * them itself (backpressure, so deletes keep up with overwrites). None is deleted while a
 * commit is in doubt ({@link CommitDoubt}: the queue is dropped, the collector takes them
 * later). A failed delete only leaves garbage for the collector.
 *
 * <p>Thread-safe.
 */
final class Superseded {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);
  /** Blocks queued for deletion at most before writers delete them themselves. */
  static final int MAX_QUEUED = 256;

  private final BlockIo io;
  private final CommitDoubt doubt;
  private final Executor ioPool;
  private final ConcurrentLinkedQueue<BlockRef> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  /** Whether a background deletion is queued or running. */
  private final AtomicBoolean draining = new AtomicBoolean();

  Superseded(BlockIo io, CommitDoubt doubt, Executor ioPool) {
    this.io = io;
    this.doubt = doubt;
    this.ioPool = ioPool;
  }

  /** Whether the queue is full: a writer that must not wait should not add to it now. */
  boolean full() {
    return queued.get() >= MAX_QUEUED;
  }

  /** Queues {@code ref} for deletion (unless a commit is in doubt); deletes inline if full. */
  void add(BlockRef ref) {
    if (!doubt.mayDeletePending()) {
      return;
    }
    queue.add(ref);
    if (queued.incrementAndGet() > MAX_QUEUED) {
      deleteAll();
    } else {
      schedule();
    }
  }

  private void schedule() {
    if (!queue.isEmpty() && draining.compareAndSet(false, true)) {
      try {
        ioPool.execute(this::drain);
      } catch (RuntimeException rejected) { // shutting down: the next flush drains it
        draining.set(false);
      }
    }
  }

  private void drain() {
    try {
      deleteAll();
    } finally {
      draining.set(false);
      schedule(); // what was queued after the last poll
    }
  }

  /** Deletes every queued block now, in this thread (the layer's deletes may be async). */
  void deleteAll() {
    for (BlockRef ref = queue.poll(); ref != null; ref = queue.poll()) {
      queued.decrementAndGet();
      if (!doubt.mayDeletePending()) {
        continue; // dropped: the collector takes it once the doubt is settled
      }
      BlockRef r = ref;
      io.deleteLater(r).whenComplete((v, e) -> {
        if (e != null) {
          log.debug("could not delete superseded block {}: {}", r, e.toString());
        }
      });
    }
  }
}
