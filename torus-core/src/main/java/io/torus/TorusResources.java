package io.torus;

import io.torus.internal.node.NodeResources;
import java.time.Clock;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Threads and clocks that several nodes of one process share (see
 * {@link TorusBuilder#resources}): the pools that run volume and block I/O, serve and
 * complete peer requests, repair copies and run background work, and the clocks that time
 * them. Without it each node makes its own. Close it after every node that uses it.
 * Thread-safe.
 */
public final class TorusResources implements AutoCloseable {
  private final NodeResources resources;

  private TorusResources(NodeResources resources) {
    this.resources = resources;
  }

  /** The defaults of a node: 16 I/O threads, 8 peer threads, the system clocks. */
  public static TorusResources create() {
    return create(16, 8, System::nanoTime, Clock.systemUTC());
  }

  /**
   * Resources with these pool sizes and clocks.
   *
   * @param ioThreads threads that run volume block I/O and complete user futures, >= 1
   * @param peerThreads threads that serve peer protocol requests, >= 1
   * @param nanoTicker monotonic nanoseconds (timeouts, peer health, intervals)
   * @param clock wall-clock time (timestamps)
   */
  public static TorusResources create(int ioThreads, int peerThreads, LongSupplier nanoTicker,
      Clock clock) {
    if (ioThreads < 1 || peerThreads < 1) {
      throw TorusException.invalid("thread counts must be >= 1: " + ioThreads + ", "
          + peerThreads);
    }
    return new TorusResources(NodeResources.create(ioThreads, peerThreads,
        Objects.requireNonNull(nanoTicker, "nanoTicker"), Objects.requireNonNull(clock,
            "clock")));
  }

  NodeResources resources() {
    return resources;
  }

  /** Stops the pools (waiting up to 5 s each for running tasks). */
  @Override
  public void close() {
    resources.close();
  }
}
