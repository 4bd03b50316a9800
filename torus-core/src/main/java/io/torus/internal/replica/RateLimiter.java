package io.torus.internal.replica;

import io.torus.TorusException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A token bucket of bytes per second for background work (rebalance copies, scrub reads), so
 * foreground I/O keeps priority. The bucket holds at most one second of tokens; a caller that
 * takes more than there are waits until the debt is paid, so the long-run rate never exceeds
 * the limit, whatever the request sizes.
 *
 * <p>Thread-safe: callers serialize on the bucket; sleeping happens outside the lock.
 */
public final class RateLimiter {
  private final long bytesPerSecond;
  private final LongSupplier nanoTime;
  private double tokens;
  private long last;

  /**
   * @param bytesPerSecond the limit, {@code > 0}
   * @param nanoTime the clock ({@code System::nanoTime} outside tests)
   */
  public RateLimiter(long bytesPerSecond, LongSupplier nanoTime) {
    if (bytesPerSecond <= 0) {
      throw TorusException.invalid("rate must be > 0 bytes/s: " + bytesPerSecond);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.nanoTime = nanoTime;
    this.last = nanoTime.getAsLong();
    this.tokens = 0;
  }

  /** The limit in bytes per second. */
  public long bytesPerSecond() {
    return bytesPerSecond;
  }

  /**
   * Takes {@code bytes} tokens and returns how long the caller must wait (nanoseconds) before
   * using them; does not sleep. For tests and for {@link #acquire}.
   */
  public synchronized long reserve(long bytes) {
    long now = nanoTime.getAsLong();
    tokens = Math.min(bytesPerSecond, tokens + (now - last) * (bytesPerSecond / 1e9));
    last = now;
    tokens -= bytes;
    return tokens >= 0 ? 0 : (long) (-tokens * 1e9 / bytesPerSecond);
  }

  /** Takes {@code bytes} tokens, sleeping as long as needed. */
  public void acquire(long bytes) throws InterruptedException {
    long wait = reserve(bytes);
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }
}
