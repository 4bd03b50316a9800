package io.torus.internal.storage;

import io.torus.ErrorCode;
import io.torus.TorusException;

/**
 * Group commit of a store's flushes: concurrent flushes share one <em>round</em> (one pass of
 * forcing data and index), and no lock is held while a round runs.
 *
 * <p><b>Invariants.</b> Rounds are numbered in the order they begin and run one at a time. A
 * flush returns only after a round that <em>began after the flush was called</em> succeeded:
 * such a round takes every record registered before it began, so it covers every put and
 * delete that returned before the flush was called. A flush that arrives while a round runs
 * does not start its own: it waits for that round to end, and then the first waiter to wake
 * leads the next round, which covers all of them.
 *
 * <p><b>Concurrency.</b> Thread-safe. The monitor guards only the three round counters and is
 * never held while a round runs; waiting flushes wait on it. The round runs on the leader's
 * thread; consecutive rounds are ordered by the monitor (each begins after the previous one
 * ended was recorded under it), so a round may use state that is not thread-safe.
 *
 * <p><b>Failure.</b> A round that throws fails its leader with that exception; flushes
 * waiting for it then run the {@code refusal} check, which throws if the store must not flush
 * any more (a failed {@code fsync}), and otherwise (the leader was interrupted) lead a new
 * round. A flush interrupted while waiting throws {@link ErrorCode#EIO} and keeps its
 * interrupt status.
 *
 * <p>Public for the peer's flush journal ({@code io.torus.internal.peer.JournalTable}), which
 * shares one force among the appends of different volumes the same way.
 */
public final class GroupCommit {
  private final Object lock = new Object();
  private long begun; // guarded by lock: number of the last round begun
  private long ended; // guarded by lock: number of the last round ended
  private long good; // guarded by lock: number of the last round that succeeded

  /**
   * Returns once a round that began after this call succeeded, leading one on this thread
   * if none is running.
   *
   * @param round one round: forces and appends, throws if it did not commit
   * @param refusal runs before this thread would lead a round or wait for one; throws if no
   *     round may run (nothing is then forced)
   */
  public void commit(Runnable round, Runnable refusal) {
    long mine;
    synchronized (lock) {
      long target = begun + 1; // the next round to begin covers this call
      while (true) {
        if (good >= target) {
          return;
        }
        refusal.run();
        if (begun == ended) {
          mine = ++begun;
          break;
        }
        await();
      }
    }
    boolean ok = false;
    try {
      round.run();
      ok = true;
    } finally {
      synchronized (lock) {
        ended = mine;
        if (ok) {
          good = mine;
        }
        lock.notifyAll();
      }
    }
  }

  /** Rounds begun so far (tests). */
  long rounds() {
    synchronized (lock) {
      return begun;
    }
  }

  private void await() {
    try {
      lock.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted waiting for a flush", e);
    }
  }
}
