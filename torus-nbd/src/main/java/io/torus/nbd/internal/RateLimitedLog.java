package io.torus.nbd.internal;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * WARN lines that cannot flood a log: at most one per interval; the next line written says
 * how many were suppressed since the previous one. One instance per source (an export, the
 * server's connection table).
 *
 * <p>Thread-safe: any thread may call {@link #warn}; the decision is taken under a lock, the
 * logging call outside it.
 */
final class RateLimitedLog {
  private final Logger log;
  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private boolean logged;
  private long last;
  private long suppressed;

  RateLimitedLog(Logger log, Duration interval, LongSupplier nanoTime) {
    this.log = log;
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
  }

  /**
   * Logs {@code message} at WARN with {@code cause} (its stack trace; may be null) unless a
   * line was written less than an interval ago, in which case it is only counted.
   *
   * @return whether the line was written
   */
  boolean warn(String message, Throwable cause) {
    long now = nanoTime.getAsLong();
    long dropped;
    synchronized (this) {
      if (logged && now - last < intervalNanos) {
        suppressed++;
        return false;
      }
      logged = true;
      last = now;
      dropped = suppressed;
      suppressed = 0;
    }
    String suffix = dropped == 0 ? "" : " (" + dropped + " similar lines suppressed)";
    if (cause != null) {
      log.warn("{}{}", message, suffix, cause);
    } else {
      log.warn("{}{}", message, suffix);
    }
    return true;
  }
}
