package io.torus.internal.volume;

import io.torus.TorusException;
import io.torus.VolumeQos;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The I/O limits of one open volume handle ({@link VolumeQos}): how long each request waits
 * for its tokens, and the asynchronous requests that are waiting.
 *
 * <p><b>Buckets.</b> Four token buckets, read and write requests, read and written bytes, each
 * refilled at its limit and holding {@code limit × burst} tokens (full at the start); a limit
 * of 0 has no bucket. A request takes its tokens from its direction's two buckets at once and
 * waits for the larger of their debts ({@link #read}, {@link #write}): the balance may go
 * below zero, so a request larger than a bucket still proceeds, and the requests after it pay
 * for it. Tokens are taken in the order requests arrive, so waits grow in that order and the
 * rate over any period T stays at most {@code limit × (T + burst)}.
 *
 * <p><b>Concurrency.</b> Thread-safe. Each direction's buckets are taken under that
 * direction's monitor (a few arithmetic steps; an unlimited direction takes no lock). New
 * limits ({@link #set}) replace the buckets atomically, full; requests already waiting keep
 * the wait they were given. An asynchronous request waits on the node's scheduler
 * ({@link #after}), never on an I/O thread; a blocking one sleeps on its caller's thread
 * ({@link #sleep}).
 *
 * <p><b>Failure.</b> A wait never fails. {@link #close} fails every asynchronous request still
 * waiting with the handle's closed error, so none is left incomplete when the scheduler stops.
 */
public final class QosGate {
  private final LongSupplier nanoTime;
  private final ScheduledExecutorService timer;
  private final VolumeMetrics metrics;
  private final Set<Waiting<?>> waiting = ConcurrentHashMap.newKeySet();
  private volatile Limits limits;

  /**
   * @param qos the limits to start with
   * @param nanoTime the monotonic clock the buckets refill by ({@code System::nanoTime}
   *     outside tests)
   * @param timer where asynchronous requests wait
   * @param metrics where the waits are timed and the limits published
   */
  public QosGate(VolumeQos qos, LongSupplier nanoTime, ScheduledExecutorService timer,
      VolumeMetrics metrics) {
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.timer = Objects.requireNonNull(timer, "timer");
    this.metrics = metrics;
    this.limits = new Limits(qos, nanoTime.getAsLong());
    metrics.qosLimits(this::qos);
  }

  /** The limits in force. */
  public VolumeQos qos() {
    return limits.qos;
  }

  /** Puts {@code qos} in force from the next request, with full buckets. */
  public void set(VolumeQos qos) {
    Objects.requireNonNull(qos, "qos");
    if (!qos.equals(limits.qos)) {
      limits = new Limits(qos, nanoTime.getAsLong());
    }
  }

  /**
   * Takes the tokens of a read of {@code bytes}; returns how long it must wait, in ns (a wait
   * is timed into {@code torus.volume.qos.wait} now).
   */
  long read(long bytes) {
    return timed(limits.read.take(bytes, nanoTime), metrics.readQosWait);
  }

  /**
   * Takes the tokens of a write of {@code bytes} (0 for a trim or a write of zeroes); returns
   * how long it must wait, in ns (timed like {@link #read}).
   */
  long write(long bytes) {
    return timed(limits.write.take(bytes, nanoTime), metrics.writeQosWait);
  }

  private static long timed(long wait, io.micrometer.core.instrument.Timer t) {
    if (wait > 0) {
      t.record(wait, TimeUnit.NANOSECONDS);
    }
    return wait;
  }

  /** Asynchronous requests waiting now (for tests). */
  int waiting() {
    return waiting.size();
  }

  /**
   * Starts {@code start} after {@code waitNanos} on the timer and returns a future completed
   * as the one it returns; if the timer refuses (shut down) the future fails with
   * {@code closed}'s error, and if the gate closes first with the cause given to
   * {@link #close}.
   */
  <T> CompletableFuture<T> after(long waitNanos, Supplier<CompletableFuture<T>> start,
      Supplier<TorusException> closed) {
    Waiting<T> w = new Waiting<>(start);
    waiting.add(w);
    try {
      w.task = timer.schedule(() -> run(w), waitNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      if (waiting.remove(w)) {
        w.result.completeExceptionally(closed.get());
      }
    }
    return w.result;
  }

  private <T> void run(Waiting<T> w) {
    if (!waiting.remove(w)) {
      return; // closed meanwhile
    }
    CompletableFuture<T> f;
    try {
      f = w.start.get();
    } catch (RuntimeException e) {
      w.result.completeExceptionally(TorusException.of(e));
      return;
    }
    f.whenComplete((v, t) -> {
      if (t != null) {
        w.result.completeExceptionally(t);
      } else {
        w.result.complete(v);
      }
    });
  }

  /** Fails every asynchronous request still waiting with {@code cause}. Idempotent. */
  void close(TorusException cause) {
    for (Waiting<?> w : waiting) {
      if (waiting.remove(w)) {
        ScheduledFuture<?> t = w.task;
        if (t != null) {
          t.cancel(false);
        }
        w.result.completeExceptionally(cause);
      }
    }
  }

  /**
   * Sleeps {@code nanos} (none if {@code <= 0}) on the caller's thread (a blocking request's
   * wait); returns whether it slept. An interrupt does not cut it short: the thread's
   * interrupt status is set again when it returns.
   */
  static boolean sleep(long nanos) {
    if (nanos <= 0) {
      return false;
    }
    long deadline = System.nanoTime() + nanos;
    boolean interrupted = false;
    for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
      interrupted |= Thread.interrupted();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return true;
  }

  /** An asynchronous request waiting for its tokens. */
  private static final class Waiting<T> {
    final Supplier<CompletableFuture<T>> start;
    final CompletableFuture<T> result = new CompletableFuture<>();
    volatile ScheduledFuture<?> task;

    Waiting(Supplier<CompletableFuture<T>> start) {
      this.start = start;
    }
  }

  /** The buckets of one set of limits; immutable but for the buckets' balances. */
  private static final class Limits {
    final VolumeQos qos;
    final Direction read;
    final Direction write;

    Limits(VolumeQos qos, long now) {
      this.qos = qos;
      this.read = new Direction(Bucket.of(qos.readIops(), qos, now),
          Bucket.of(qos.readBytesPerSecond(), qos, now));
      this.write = new Direction(Bucket.of(qos.writeIops(), qos, now),
          Bucket.of(qos.writeBytesPerSecond(), qos, now));
    }
  }

  /** The request and byte buckets of reads or of writes; either may be absent. */
  private static final class Direction {
    private final Bucket requests;
    private final Bucket bytes;

    Direction(Bucket requests, Bucket bytes) {
      this.requests = requests;
      this.bytes = bytes;
    }

    long take(long n, LongSupplier nanoTime) {
      if (requests == null && bytes == null) {
        return 0;
      }
      synchronized (this) {
        long now = nanoTime.getAsLong();
        long wait = requests == null ? 0 : requests.take(1, now);
        return bytes == null ? wait : Math.max(wait, bytes.take(n, now));
      }
    }
  }

  /**
   * One token bucket, kept as the time its tokens are all back ({@code full}, a
   * "theoretical arrival time"): taking {@code cost} tokens moves it {@code cost / rate}
   * later, from now at the earliest (a full bucket holds no more); the balance is below zero,
   * and a request must wait, while it lies more than the burst ahead of now. Integer
   * nanoseconds throughout, so waits are exact. Not thread-safe: guarded by its
   * {@link Direction}.
   */
  static final class Bucket {
    private final long rate;
    private final long burstNanos;
    private long full;

    /**
     * @param rate tokens per second, {@code > 0}
     * @param burstNanos how long a full bucket lasts at {@code rate}
     * @param now the clock's reading now; the bucket starts full
     */
    Bucket(long rate, long burstNanos, long now) {
      this.rate = rate;
      this.burstNanos = burstNanos;
      this.full = now;
    }

    static Bucket of(long rate, VolumeQos qos, long now) {
      return rate == 0 ? null : new Bucket(rate, qos.burst().toNanos(), now);
    }

    /**
     * Takes {@code cost} tokens at time {@code now} and returns the nanoseconds until the
     * balance is back at zero (0 if it did not go below).
     */
    long take(long cost, long now) {
      if (full - now < 0) {
        full = now;
      }
      full += nanosFor(cost);
      return Math.max(0, full - now - burstNanos);
    }

    /** How long {@code cost} tokens take to come back, rounded up. */
    private long nanosFor(long cost) {
      if (cost <= Long.MAX_VALUE / 1_000_000_000L) {
        return (cost * 1_000_000_000L + rate - 1) / rate;
      }
      return (long) Math.ceil(cost * 1e9 / rate);
    }
  }
}
