package io.torus.internal.node;

import io.torus.internal.transport.EventLoops;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The threads and clocks of a node, which several nodes of one process may share: the pools
 * that run volume and block I/O, the peer protocol's event loops, callbacks and workers,
 * repairs and scheduled background work, and the clocks that time leases, health and collection.
 *
 * <p>Pools never run blocking waits on the callback pool (completions would starve). A node
 * shuts down only resources it created itself; shared ones belong to whoever built them.
 *
 * <p>Thread-safe; immutable but for the pools' own state.
 */
public final class NodeResources implements AutoCloseable {
  private final ExecutorService io;
  private final ExecutorService blocks;
  private final ExecutorService peerCallbacks;
  private final ExecutorService peerWorkers;
  private final ExecutorService repairs;
  private final ExecutorService cipher;
  private final ScheduledExecutorService scheduler;
  private final EventLoops eventLoops;
  private final LongSupplier ticker;
  private final Clock clock;

  private NodeResources(int ioThreads, int peerThreads, LongSupplier ticker, Clock clock) {
    this.io = Executors.newFixedThreadPool(ioThreads, daemon("torus-io-"));
    this.blocks = Executors.newFixedThreadPool(8, daemon("torus-block-"));
    this.peerCallbacks = Executors.newFixedThreadPool(4, daemon("torus-peer-callback-"));
    this.peerWorkers = Executors.newFixedThreadPool(peerThreads, daemon("torus-peer-worker-"));
    this.repairs = Executors.newFixedThreadPool(2, daemon("torus-repair-"));
    this.cipher = Executors.newFixedThreadPool(
        Math.max(2, Runtime.getRuntime().availableProcessors()), daemon("torus-cipher-"));
    this.scheduler = Executors.newScheduledThreadPool(2, daemon("torus-background-"));
    this.eventLoops = EventLoops.create(2, 2);
    this.ticker = ticker;
    this.clock = clock;
  }

  /**
   * New resources.
   *
   * @param ioThreads threads of the pool that runs block I/O of volumes and completes user
   *     futures (16 by default)
   * @param peerThreads threads that serve peer requests (8 by default)
   * @param ticker monotonic nanoseconds (timeouts, health, intervals)
   * @param clock wall-clock time (timestamps in records)
   */
  public static NodeResources create(int ioThreads, int peerThreads, LongSupplier ticker,
      Clock clock) {
    return new NodeResources(ioThreads, peerThreads, ticker, clock);
  }

  /** Today's defaults: 16 I/O threads, 8 peer workers, the system clocks. */
  public static NodeResources defaults(int ioThreads) {
    return create(ioThreads, 8, System::nanoTime, Clock.systemUTC());
  }

  /** Runs block I/O of volumes and completes user futures. */
  public ExecutorService io() {
    return io;
  }

  /** Runs a volume's block-sized reads and writes (write-out, prefetch). */
  public ExecutorService blocks() {
    return blocks;
  }

  /** Completes peer futures; never blocks. */
  public ExecutorService peerCallbacks() {
    return peerCallbacks;
  }

  /** Runs requests the peer server received. */
  public ExecutorService peerWorkers() {
    return peerWorkers;
  }

  /** Copies blocks that fell short of their replicas. */
  public ExecutorService repairs() {
    return repairs;
  }

  /**
   * Encrypts and decrypts blocks of encrypted volumes, one per core: tasks are CPU work that
   * never waits for another task.
   */
  public ExecutorService cipher() {
    return cipher;
  }

  /** Runs periodic background work (collection, reports); tasks must not block long. */
  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** The peer protocol's network threads (client and server side). */
  public EventLoops eventLoops() {
    return eventLoops;
  }

  /** Monotonic nanoseconds. */
  public LongSupplier ticker() {
    return ticker;
  }

  /** Wall-clock time. */
  public Clock clock() {
    return clock;
  }

  /** Shuts every pool down, waiting up to 5 s for running tasks. */
  @Override
  public void close() {
    shutdown(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
  }

  /**
   * Shuts every pool down and waits for running tasks until {@code deadline} (a
   * {@link System#nanoTime} value; at least a second per pool); interrupts what is still
   * running then.
   *
   * @return whether every pool stopped by itself
   */
  public boolean shutdown(long deadline) {
    List<ExecutorService> all = new ArrayList<>(List.of(scheduler, io, blocks, repairs,
        peerWorkers, peerCallbacks, cipher));
    all.forEach(ExecutorService::shutdown);
    boolean clean = true;
    try {
      for (ExecutorService p : all) {
        long left = Math.max(TimeUnit.SECONDS.toNanos(1), deadline - System.nanoTime());
        if (!p.awaitTermination(left, TimeUnit.NANOSECONDS)) {
          p.shutdownNow();
          clean = false;
        }
      }
    } catch (InterruptedException e) {
      all.forEach(ExecutorService::shutdownNow);
      Thread.currentThread().interrupt();
      return false;
    } finally {
      eventLoops.close();
    }
    return clean;
  }

  static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
