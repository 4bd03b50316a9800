package io.torus.internal.meta;

/** A running watch or listener registration; closing it stops further calls. */
@FunctionalInterface
public interface Subscription extends AutoCloseable {
  /**
   * Stops the subscription. Idempotent; after it returns no new listener call starts (one
   * already running may finish).
   */
  @Override
  void close();
}
