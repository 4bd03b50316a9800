package io.torus.internal.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import io.torus.ErrorCode;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The bytes a {@link PeerClient} may have in flight to its peer, handed out without ever
 * blocking a thread.
 *
 * <p>A request that finds room (and nobody waiting before it) is sent at once on the caller's
 * thread. Otherwise it queues, holding no thread: as answers return bytes, waiting requests
 * are sent oldest first, on the thread that returned the bytes (an event loop or a callback
 * thread; sending never blocks). A request still waiting at its deadline is refused with "no
 * room" (EIO, retryable) on the callback executor, and one sent after waiting gets what is
 * left of its deadline. A request larger than the whole budget is refused at once.
 *
 * <p>Thread-safe. Lock-free on the path where room is free; the head of the queue is decided
 * under the queue's monitor, and nothing is sent or refused while holding it.
 */
final class InFlightBudget {
  private final Semaphore room;
  private final int capacity;
  private final String peer;
  private final EventLoopGroup timers;
  private final Consumer<Runnable> callbacks;
  /** Requests waiting for room, oldest first. */
  private final Queue<Admission> waiting = new ConcurrentLinkedQueue<>();

  /**
   * @param capacity bytes in flight at most
   * @param peer the peer's address, for messages
   * @param timers where deadline timers run
   * @param callbacks runs refusals of waiting requests (the transport's callback executor)
   */
  InFlightBudget(int capacity, String peer, EventLoopGroup timers,
      Consumer<Runnable> callbacks) {
    this.room = new Semaphore(capacity);
    this.capacity = capacity;
    this.peer = peer;
    this.timers = timers;
    this.callbacks = callbacks;
  }

  /**
   * Takes {@code bytes} for a request, then {@code send}s it with what is left of its
   * deadline; or {@code refuse}s it. Exactly one of the two runs, once. Never blocks.
   */
  void admit(int bytes, Duration deadline, Consumer<Duration> send,
      Consumer<RuntimeException> refuse) {
    Admission a = new Admission(bytes, deadline, System.nanoTime(), send, refuse);
    if (bytes > capacity) {
      refuse.accept(noRoom(a));
      return;
    }
    if (waiting.isEmpty() && room.tryAcquire(bytes)) {
      a.decided.set(true);
      send.accept(deadline);
      return;
    }
    try {
      a.timer = timers.next().schedule(() -> expire(a), deadline.toNanos(),
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      refuse.accept(new TorusClosedException("peer client " + peer + " is closed"));
      return;
    }
    waiting.add(a);
    drain(); // room may have come free between the try above and the add
  }

  /** Returns the bytes of a request that ended and lets waiting requests use them. */
  void release(int bytes) {
    room.release(bytes);
    if (!waiting.isEmpty()) {
      drain();
    }
  }

  /** Refuses every waiting request with {@code error} (the client closed). */
  void close(RuntimeException error) {
    for (Admission a; (a = waiting.poll()) != null; ) {
      if (a.decided.compareAndSet(false, true)) {
        a.timer.cancel(false);
        a.refuse.accept(error);
      }
    }
  }

  /** The deadline of a waiting request passed (on an event loop). */
  private void expire(Admission a) {
    if (a.decided.compareAndSet(false, true)) {
      callbacks.accept(() -> a.refuse.accept(noRoom(a)));
    }
    drain(); // an expired head no longer holds up the ones behind it
  }

  private TorusException noRoom(Admission a) {
    return new TorusException(ErrorCode.EIO, "peer " + peer + ": no room for " + a.bytes
        + " more bytes in flight within " + a.deadline.toMillis() + " ms", null, true);
  }

  /** Sends waiting requests, oldest first, while there is room for the next one. */
  private void drain() {
    while (true) {
      Admission a;
      synchronized (waiting) {
        a = waiting.peek();
        if (a == null) {
          return;
        }
        if (a.decided.get()) { // expired or refused: drop it
          waiting.poll();
          continue;
        }
        if (!room.tryAcquire(a.bytes)) {
          return;
        }
        waiting.poll();
        if (!a.decided.compareAndSet(false, true)) { // expired since the check: room back
          room.release(a.bytes);
          continue;
        }
      }
      a.timer.cancel(false);
      Duration left = a.deadline.minusNanos(System.nanoTime() - a.start);
      if (left.isNegative() || left.isZero()) {
        room.release(a.bytes);
        Admission late = a;
        callbacks.accept(() -> late.refuse.accept(noRoom(late)));
      } else {
        a.send.accept(left);
      }
    }
  }

  /** A request on its way in; {@code decided} lets exactly one of send and refuse happen. */
  private static final class Admission {
    final int bytes;
    final Duration deadline;
    final long start;
    final Consumer<Duration> send;
    final Consumer<RuntimeException> refuse;
    final AtomicBoolean decided = new AtomicBoolean();
    ScheduledFuture<?> timer;

    Admission(int bytes, Duration deadline, long start, Consumer<Duration> send,
        Consumer<RuntimeException> refuse) {
      this.bytes = bytes;
      this.deadline = deadline;
      this.start = start;
      this.send = send;
      this.refuse = refuse;
    }
  }
}
