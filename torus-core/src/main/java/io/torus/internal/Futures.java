package io.torus.internal;

import io.torus.TorusException;
import java.util.concurrent.CompletableFuture;

/** Joins futures for the blocking twins of async methods, rethrowing the original error. */
public final class Futures {
  private Futures() {}

  /**
   * Waits for {@code f} and returns its value; a failure is rethrown as the
   * {@link TorusException} it carried (wrapped in one if it was another exception).
   */
  public static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (RuntimeException e) {
      throw TorusException.of(e);
    }
  }
}
