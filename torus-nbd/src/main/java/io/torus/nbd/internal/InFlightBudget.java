package io.torus.nbd.internal;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bytes one server holds for its clients, against one cap: input buffered by
 * connections in transmission and WRITE payloads while they arrive (<em>receiving</em>), and
 * requests in flight: a WRITE payload until its reply is written, a READ reply from before its
 * buffer is allocated until it is written.
 *
 * <p><b>Rules.</b> Work that allocates on the server's initiative (a READ reply) reserves
 * first with {@link #tryAcquire} and waits when it does not fit. Bytes that already arrived
 * are counted with {@link #addInput} (they exist whatever we decide), after which the
 * connection stops reading while {@link #inputFull()}: the cap is reached, or receiving
 * bytes hold half of it. The half keeps room for READs and complete WRITEs however many
 * clients stop in the middle of a payload. The total exceeds the cap by at most one socket
 * read per connection, the payload copy of a WRITE being completed, and the overdraft.
 *
 * <p><b>Progress.</b> Partly received WRITEs could fill the receiving half with nothing in flight
 * to free it. When nothing is in flight, one connection may therefore take the <em>overdraft</em>:
 * it keeps receiving the payload it is in the middle of, past both limits, until that payload is
 * complete ({@link #tryOverdraft}, {@link #endOverdraft}). When it is given back it is offered to
 * the waiting connection with the fewest payload bytes still to come. A holder whose client stops
 * sending is evicted as stalled (see {@code ServerState}).
 *
 * <p><b>Waiting.</b> A connection that must wait registers with {@link #await}; when bytes
 * are released, waiters are woken in arrival order while their need fits in the room left
 * ({@code budgetAvailable()}, which hops to their event loop). A woken connection that still
 * cannot proceed registers again.
 *
 * <p>Thread-safe, lock-free.
 */
final class InFlightBudget {
  private final long cap;
  private final long receivingCap;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong receiving = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();
  private final AtomicReference<NbdConnection> overdraft = new AtomicReference<>();
  private final Queue<Waiter> waiters = new ConcurrentLinkedQueue<>();

  /**
   * @param input whether the waiter needs receiving room (else only room under the cap)
   * @param remaining payload bytes still to come if it waits in the middle of one, else -1
   */
  private record Waiter(NbdConnection conn, long need, boolean input, long remaining) {}

  InFlightBudget(long cap) {
    this.cap = cap;
    this.receivingCap = cap / 2;
  }

  long cap() {
    return cap;
  }

  long used() {
    return used.get();
  }

  long receiving() {
    return receiving.get();
  }

  /** The largest {@link #used()} seen. */
  long peak() {
    return peak.get();
  }

  /** Whether connections must stop taking input (the cap, or half of it receiving). */
  boolean inputFull() {
    return used.get() >= cap || receiving.get() >= receivingCap;
  }

  /** How far past the point where input stops the budget is (0 or more). */
  long inputExcess() {
    return Math.max(0, Math.max(used.get() - cap, receiving.get() - receivingCap));
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

  /** Counts {@code n} bytes of a request in flight (negative: releases), whatever the cap. */
  void add(long n) {
    if (n == 0) {
      return;
    }
    long u = used.addAndGet(n);
    if (n > 0) {
      raisePeak(u);
    } else if (!waiters.isEmpty()) {
      wake();
      if (u - receiving.get() <= 0 && overdraft.get() == null) {
        offerOverdraft();
      }
    }
  }

  void release(long n) {
    add(-n);
  }

  /** Counts {@code n} bytes of received input (negative: releases), whatever the cap. */
  void addInput(long n) {
    if (n == 0) {
      return;
    }
    receiving.addAndGet(n);
    add(n);
  }

  /**
   * Whether {@code c} holds or now takes the overdraft; it can be taken only while no request
   * is in flight (everything held is input), since otherwise their completion frees room.
   */
  boolean tryOverdraft(NbdConnection c) {
    if (overdraft.get() == c) {
      return true;
    }
    return used.get() - receiving.get() <= 0 && overdraft.compareAndSet(null, c);
  }

  /** Gives the overdraft back if {@code c} holds it, and offers it to a waiter. */
  void endOverdraft(NbdConnection c) {
    if (overdraft.compareAndSet(c, null)) {
      offerOverdraft();
    }
  }

  /**
   * Registers {@code c} as waiting for {@code need} bytes of room ({@code input}: of
   * receiving room too; {@code remaining}: payload bytes it still expects, or -1). {@code c}
   * is woken exactly once; at once if room appeared meanwhile.
   */
  void await(NbdConnection c, long need, boolean input, long remaining) {
    waiters.add(new Waiter(c, need, input, remaining));
    wake();
    if (remaining >= 0 && overdraft.get() == null && used.get() - receiving.get() <= 0) {
      offerOverdraft();
    }
  }

  /** Forgets the waits of a closed connection. */
  void cancel(NbdConnection c) {
    waiters.removeIf(w -> w.conn == c);
    endOverdraft(c);
  }

  private void offerOverdraft() {
    Waiter best = null;
    for (Waiter w : waiters) {
      if (w.remaining >= 0 && (best == null || w.remaining < best.remaining)) {
        best = w;
      }
    }
    if (best != null && waiters.remove(best)) {
      best.conn.budgetAvailable();
    }
  }

  private void wake() {
    long u = used.get();
    long room = u <= 0 ? Long.MAX_VALUE : cap - u;
    long inputRoom = Math.min(room, receivingCap - receiving.get());
    for (Waiter w : waiters) {
      if (room <= 0) {
        return;
      }
      if (w.need <= (w.input ? inputRoom : room) && waiters.remove(w)) {
        room -= w.need;
        inputRoom -= w.need;
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
