package io.torus.internal.meta;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling for tests: waits until a condition holds or fails with a message. */
public final class Eventually {
  private Eventually() {}

  /** Polls {@code condition} every 20 ms until it holds; throws AssertionError after limit. */
  public static void until(Duration limit, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + limit + ": " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what, e);
      }
    }
  }
}
