package io.torus.internal.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.GcResult;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When a node collects garbage: on demand, and in the background every interval, or sooner
 * (at most every 5 s) when a store is more than half full, since overwrites create garbage as
 * fast as clients write. In a cluster only the elected peer collects in the background.
 *
 * <p>Thread-safe. {@link #tick} is what the schedule runs once a second; tests call it with a
 * hand-moved ticker.
 */
final class GcScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GcScheduler.class);
  /** The shortest pause between two collections driven by store pressure. */
  static final long PRESSURE_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final Placement placement;
  private final long intervalNanos;
  private final LongSupplier ticker;
  private final Counter deleted;
  private final Counter failures;
  private final ScheduledFuture<?> schedule;
  private long last;

  /**
   * @param intervalNanos the background interval; 0 for no background collection
   * @param scheduler runs {@link #tick} every second (null: not scheduled)
   */
  GcScheduler(Placement placement, long intervalNanos, LongSupplier ticker,
      MeterRegistry registry, String nodeId, ScheduledExecutorService scheduler) {
    this.placement = placement;
    this.intervalNanos = intervalNanos;
    this.ticker = ticker;
    this.last = ticker.getAsLong();
    this.deleted = Counter.builder("torus.gc.deleted").description("blocks garbage-collected")
        .tag("node", nodeId).register(registry);
    this.failures = Counter.builder("torus.gc.failures").tag("node", nodeId)
        .description("garbage-collection cycles aborted (nothing deleted)").register(registry);
    this.schedule = intervalNanos > 0 && scheduler != null
        ? scheduler.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS) : null;
  }

  /** The meters this scheduler registered. */
  List<Meter> meters() {
    return List.of(deleted, failures);
  }

  /** One cycle now; counts what it deleted or that it failed. */
  GcResult collect() {
    try {
      GcResult r = placement.collectGarbage();
      deleted.increment(r.deletedBlocks());
      return r;
    } catch (RuntimeException e) {
      failures.increment();
      throw e;
    }
  }

  /** Collects if the interval has passed, or sooner under store pressure; never throws. */
  void tick() {
    if (!placement.collectsInBackground()) {
      return; // another peer collects for the cluster
    }
    long now = ticker.getAsLong();
    long since;
    synchronized (this) {
      since = now - last;
      boolean pressure = since > PRESSURE_PAUSE_NANOS && placement.underPressure();
      if (since < intervalNanos && !pressure) {
        return;
      }
      last = now;
    }
    try {
      collect();
    } catch (RuntimeException e) {
      log.warn("garbage collection skipped, nothing deleted: {}", e.toString());
    }
  }

  @Override
  public void close() {
    if (schedule != null) {
      schedule.cancel(false);
    }
  }
}
