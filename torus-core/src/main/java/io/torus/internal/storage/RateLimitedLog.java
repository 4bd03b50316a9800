package io.torus.internal.storage;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs a warning at most once per interval per key, counting the ones it holds back and
 * reporting that count with the next line it lets through. For errors that may repeat on
 * every operation (a failed store refusing writes), so that the first one is always seen with
 * its cause and the log is not flooded.
 *
 * <p>Thread-safe; the time source ({@code System::nanoTime} in production) is injected.
 */
public final class RateLimitedLog {
  private final Logger log;
  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, long[]> keys = new ConcurrentHashMap<>();

  /** At most one line per second per key, on the system's monotonic clock. */
  public static RateLimitedLog perSecond(Logger log) {
    return new RateLimitedLog(log, Duration.ofSeconds(1), System::nanoTime);
  }

  public RateLimitedLog(Logger log, Duration interval, LongSupplier nanoTime) {
    this.log = log;
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
  }

  /**
   * Logs {@code format} with {@code args} at WARN, unless a line with the same {@code key} was
   * logged less than the interval ago. A {@link Throwable} as the last argument is logged as
   * the cause, with its stack trace. Returns whether the line was logged.
   */
  public boolean warn(String key, String format, Object... args) {
    long now = nanoTime.getAsLong();
    long suppressed;
    long[] state = keys.computeIfAbsent(key, k -> new long[] {now - intervalNanos, 0});
    synchronized (state) {
      if (now - state[0] < intervalNanos) {
        state[1]++;
        return false;
      }
      state[0] = now;
      suppressed = state[1];
      state[1] = 0;
    }
    if (suppressed == 0) {
      log.warn(format, args);
      return true;
    }
    boolean cause = args.length > 0 && args[args.length - 1] instanceof Throwable;
    int at = cause ? args.length - 1 : args.length;
    Object[] more = Arrays.copyOf(args, args.length + 1);
    more[at] = suppressed;
    if (cause) {
      more[at + 1] = args[at];
    }
    log.warn(format + " ({} similar warnings suppressed)", more);
    return true;
  }
}
