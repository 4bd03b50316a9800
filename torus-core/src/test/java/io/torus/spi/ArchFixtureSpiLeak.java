package io.torus.spi;

import io.torus.internal.Futures;
import java.util.concurrent.CompletableFuture;

/**
 * Breaks the public-API rule: an SPI type using {@code Futures}, which only
 * {@code BlockVolume} may. Test code only ({@code ArchitectureRulesTest}).
 */
public interface ArchFixtureSpiLeak {
  /** Starts the work. */
  CompletableFuture<Void> runAsync();

  /** Runs it and waits. */
  default void run() {
    Futures.join(runAsync());
  }
}
