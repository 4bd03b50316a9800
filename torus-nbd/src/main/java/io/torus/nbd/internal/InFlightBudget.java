package io.torus.nbd.internal;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bytes one server holds for its clients, against one cap: input buffered by
 * connections in transmission, WRITE payloads while they arrive and until their reply is
 * written, READ replies from before their buffer is allocated until they are written.
 *
 * <p><b>Rules.</b> Work that allocates on the server's initiative (a READ reply) reserves
 * first with {@link #tryAcquire} and waits when it does not fit. Bytes that already arrived
 * are counted with {@link #add} (they exist whatever we decide), after which the connection
 * stops reading while {@link #isFull()}. So the total exceeds the cap by at most one socket
 * read and one payload chunk per connection, plus the payload copy of a WRITE being
 * finished.
 *
 * <p><b>Progress.</b> Partly received WRITEs of several connections could fill the cap with
 * nothing in flight to free it. One connection at a time may therefore hold the
 * <em>overdraft</em>: it keeps receiving the payload it is in the middle of, past the cap,
 * until that payload is complete ({@link #tryOverdraft}, {@link #endOverdraft}). A holder
 * whose client stops sending is evicted as stalled (see {@code ServerState}).
 *
 * <p><b>Waiting.</b> A connection that must wait registers with {@link #await}; whenever
 * bytes are released, waiters whose need now fits are woken ({@code budgetAvailable()},
 * which hops to their event loop); when the overdraft is given back, the oldest waiter in
 * the middle of a payload is woken to take it.
 *
 * <p>Thread-safe, lock-free.
 */
final class InFlightBudget {
  private final long cap;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();
  private final AtomicReference<NbdConnection> overdraft = new AtomicReference<>();
  private final Queue<Waiter> waiters = new ConcurrentLinkedQueue<>();

  private record Waiter(NbdConnection conn, long need, boolean midPayload) {}

  InFlightBudget(long cap) {
    this.cap = cap;
  }

  long cap() {
    return cap;
  }

  long used() {
    return used.get();
  }

  /** The largest {@link #used()} seen. */
  long peak() {
    return peak.get();
  }

  boolean isFull() {
    return used.get() >= cap;
  }

  boolean hasWaiters() {
    return !waiters.isEmpty();
  }

  /** Reserves {@code n} bytes if they fit under the cap (or nothing at all is held). */
  boolean tryAcquire(long n) {
    while (true) {
      long u = used.get();
      if (u > 0 && u + n > cap) {
        return false;
      }
      if (used.compareAndSet(u, u + n)) {
        raisePeak(u + n);
        return true;
      }
    }
  }

  /** Counts {@code n} bytes (negative: releases), whatever the cap. */
  void add(long n) {
    if (n == 0) {
      return;
    }
    long u = used.addAndGet(n);
    if (n > 0) {
      raisePeak(u);
    } else if (!waiters.isEmpty()) {
      wakeFitting(u);
    }
  }

  void release(long n) {
    add(-n);
  }

  /** Whether {@code c} holds or now takes the overdraft. */
  boolean tryOverdraft(NbdConnection c) {
    return overdraft.compareAndSet(null, c) || overdraft.get() == c;
  }

  /** Gives the overdraft back if {@code c} holds it, and offers it to a waiter. */
  void endOverdraft(NbdConnection c) {
    if (overdraft.compareAndSet(c, null)) {
      offerOverdraft();
    }
  }

  private void offerOverdraft() {
    for (Waiter w : waiters) {
      if (w.midPayload && waiters.remove(w)) {
        w.conn.budgetAvailable();
        return;
      }
    }
  }

  /**
   * Registers {@code c} as waiting for {@code need} bytes ({@code midPayload}: it is in the
   * middle of a WRITE payload and could use the overdraft). {@code c} is woken exactly once;
   * at once if room appeared meanwhile.
   */
  void await(NbdConnection c, long need, boolean midPayload) {
    waiters.add(new Waiter(c, need, midPayload));
    wakeFitting(used.get());
    if (midPayload && overdraft.get() == null) {
      offerOverdraft();
    }
  }

  /** Forgets the waits of a closed connection. */
  void cancel(NbdConnection c) {
    waiters.removeIf(w -> w.conn == c);
    endOverdraft(c);
  }

  private void wakeFitting(long u) {
    long room = cap - u;
    for (Waiter w : waiters) {
      if (room <= 0 && u > 0) {
        return;
      }
      if ((w.need <= room || u <= 0) && waiters.remove(w)) {
        room -= w.need;
        w.conn.budgetAvailable();
      }
    }
  }

  private void raisePeak(long u) {
    long p;
    while (u > (p = peak.get()) && !peak.compareAndSet(p, u)) {
      // retry
    }
  }
}
