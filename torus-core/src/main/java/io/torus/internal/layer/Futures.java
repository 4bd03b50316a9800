package io.torus.internal.layer;

import io.torus.TorusException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/** How the layers turn futures into blocking calls and blocking calls into futures. */
final class Futures {
  private Futures() {}

  /**
   * Waits for {@code f} and returns its value, or throws the exception it failed with itself
   * (a {@link RuntimeException} or {@link Error} unwrapped from its
   * {@link CompletionException}; anything else as a {@link TorusException}).
   */
  static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      throw unwrap(e);
    }
  }

  /** The failure a future completed with, without its {@link CompletionException} wrapper. */
  static RuntimeException unwrap(Throwable t) {
    Throwable cause = t;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof RuntimeException) {
      return (RuntimeException) cause;
    }
    if (cause instanceof Error) {
      throw (Error) cause;
    }
    return TorusException.of(cause);
  }

  /** Runs a call on the calling thread; its outcome as a completed or failed future. */
  static <T> CompletableFuture<T> now(Supplier<T> call) {
    try {
      return CompletableFuture.completedFuture(call.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
