package io.torus.internal.storage;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group-committed flush barriers of one {@link BlockStore}: a barrier returns only after an
 * fsync ({@link BlockStore#flush()}) that <em>began after</em> every mutation it covers had
 * completed, and succeeded.
 *
 * <p><b>Invariants.</b> A counter counts completed mutations: callers call
 * {@link #mutated()} after each put or delete of the store has returned. A barrier notes the
 * counter when it starts ({@code target}); an fsync notes it when it begins ({@code from}).
 * Every mutation counted at or below {@code from} completed before that fsync began, so a
 * successful fsync makes {@code durable = max(durable, from)}. A barrier returns when
 * {@code durable >= target}. A failed fsync leaves {@code durable} where it was, so the store
 * stays dirty and the next barrier forces again: no barrier succeeds after a failed fsync
 * without a new successful one.
 *
 * <p><b>Concurrency.</b> Thread-safe. At most one fsync of the store runs at a time; it runs
 * outside the monitor, which puts never take ({@link #mutated()} is one atomic add), so
 * writers are never blocked by an fsync. Barriers that arrive while an fsync runs that
 * already covers their target share it (one fsync for many barriers); the others wait for it
 * to end and then share the next one, started by the first of them to wake.
 *
 * <p><b>Failure.</b> An fsync that throws fails every barrier waiting on it, with the same
 * exception (a non-{@link TorusException} is wrapped as {@link ErrorCode#EIO}). A barrier
 * whose thread is interrupted while waiting throws EIO and keeps the interrupt flag.
 */
final class StoreFlusher {
  private final BlockStore store;
  private final Object lock = new Object();
  /** Mutations that have completed; written outside the monitor. */
  private final AtomicLong mutations = new AtomicLong();
  /** The highest {@code from} of a successful fsync; guarded by {@link #lock}. */
  private long durable;
  /** The fsync running now, or null; guarded by {@link #lock}. */
  private Run running;

  /** One fsync: the count it began at, and how it ended. Fields guarded by the lock. */
  private static final class Run {
    final long from;
    boolean done;
    RuntimeException error;

    Run(long from) {
      this.from = from;
    }
  }

  /** @param store the store whose barriers this serializes */
  public StoreFlusher(BlockStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  /** The store. */
  public BlockStore store() {
    return store;
  }

  /** Records that a put or delete of the store has completed. Call after it returned. */
  public void mutated() {
    mutations.incrementAndGet();
  }

  /** Whether a completed mutation is not yet covered by a successful fsync. */
  public boolean dirty() {
    long m = mutations.get();
    synchronized (lock) {
      return durable < m;
    }
  }

  /**
   * A barrier on every store of {@code flushers}: each one's barrier runs (a failure of one
   * does not skip the others), then the first failure is thrown.
   */
  public static void barrierAll(StoreFlusher... flushers) {
    TorusException first = null;
    for (StoreFlusher f : flushers) {
      try {
        f.barrier();
      } catch (TorusException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /**
   * Barrier: returns once every mutation recorded by {@link #mutated()} before this call is
   * durable. Returns at once if none is pending.
   *
   * @throws TorusException the fsync's error (EIO for a non-Torus one), or EIO if interrupted
   */
  public void barrier() {
    long target = mutations.get();
    Run mine;
    synchronized (lock) {
      while (true) {
        if (durable >= target) {
          return;
        }
        Run r = running;
        if (r == null) {
          break;
        }
        await(r);
        if (r.from >= target && r.error != null) {
          throw r.error;
        }
      }
      mine = new Run(mutations.get());
      running = mine;
    }
    RuntimeException error = null;
    try {
      store.flush();
    } catch (RuntimeException e) {
      error = e instanceof TorusException ? e
          : new TorusException(ErrorCode.EIO, "flush of store " + store.name() + ": " + e, e);
    }
    synchronized (lock) {
      mine.done = true;
      mine.error = error;
      if (error == null && mine.from > durable) {
        durable = mine.from;
      }
      running = null;
      lock.notifyAll();
    }
    if (error != null) {
      throw error;
    }
  }

  /** Waits (holding the monitor's wait set) until {@code r} ended. */
  private void await(Run r) {
    while (!r.done) {
      try {
        lock.wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(ErrorCode.EIO, "interrupted waiting for a flush of store "
            + store.name(), e);
      }
    }
  }

  @Override
  public String toString() {
    return "StoreFlusher[" + store.name() + "]";
  }
}
