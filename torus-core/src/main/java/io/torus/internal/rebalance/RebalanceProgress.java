package io.torus.internal.rebalance;

import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where this peer's rebalancing stands: the pass's position (a {@link PassCursor} in the
 * progress file, so a restarted peer resumes), the counters of the current pass and since
 * start, and the {@link ReplicationReport} built from them and published to the
 * {@link RebalanceStore}.
 *
 * <p><b>Concurrency.</b> The worker thread writes; reporter and metrics threads read. Counters
 * are atomics or volatile; the rate estimate is updated under this object's lock. The cursor
 * methods are for the worker only.
 */
final class RebalanceProgress {
  private static final Logger log = LoggerFactory.getLogger(RebalanceProgress.class);

  private final String self;
  private final Path cursorFile;
  private final RebalanceStore reports;
  private volatile Scrubber scrubber;

  private volatile long passRing;
  private volatile boolean passDone;
  private final AtomicLong scanned = new AtomicLong();
  private volatile long total;
  private final AtomicLong missing = new AtomicLong();
  private final AtomicLong missingBytes = new AtomicLong();
  private final AtomicLong moved = new AtomicLong();
  private final AtomicLong copies = new AtomicLong();
  private final AtomicLong deleted = new AtomicLong();
  private final AtomicLong passes = new AtomicLong();
  private volatile long rate;
  /** The last report published, or null. */
  private volatile ReplicationReport published;
  private long rateAt = System.nanoTime();
  private long rateMoved;

  /**
   * @param self this peer's id
   * @param cursorFile where the pass's position is persisted, or null
   * @param reports where reports are published
   */
  RebalanceProgress(String self, Path cursorFile, RebalanceStore reports) {
    this.self = self;
    this.cursorFile = cursorFile;
    this.reports = reports;
  }

  /** Where a pass against {@code ring} starts: the saved position, or the beginning. */
  PassCursor resume(long ring) {
    return PassCursor.load(cursorFile).filter(c -> c.ring() == ring)
        .orElse(new PassCursor(ring, 1, null, true));
  }

  /**
   * A pass against {@code ring} begins, over {@code total} blocks: the per-pass counts
   * restart; a new ring makes the last pass's "done" stale.
   */
  void begin(long ring, long blocks) {
    if (passRing != ring) {
      passRing = ring;
      passDone = false;
    }
    total = blocks;
    scanned.set(0);
    missing.set(0);
    missingBytes.set(0);
  }

  /** A page was handled: it is saved as the position to resume from. */
  void page(PassCursor position, int refs) {
    scanned.addAndGet(refs);
    position.save(cursorFile);
  }

  /** The pass went over every block; the next pass against the same ring starts over. */
  void finish(PassCursor end, boolean clean) {
    end.save(cursorFile);
    passes.incrementAndGet();
    passDone = clean;
    new PassCursor(end.ring(), 1, null, true).save(cursorFile);
    publish();
  }

  /** The pass stopped on an error: it is not done. */
  void stopped() {
    passDone = false;
  }

  /** Copies owed to owners that lack them. */
  void missing(int count, long bytes) {
    missing.addAndGet(count);
    missingBytes.addAndGet(bytes);
  }

  /** Shards rebuilt from their stripes onto their peers: copies and bytes moved too. */
  void rebuilt(int count, long bytes) {
    moved.addAndGet(bytes);
    copies.addAndGet(count);
  }

  /** Copies made (put and covered by a barrier): no longer missing. */
  void copied(int count, long bytes) {
    moved.addAndGet(bytes);
    copies.addAndGet(count);
    missing.addAndGet(-count);
    missingBytes.addAndGet(-bytes);
  }

  /** A copy this peer no longer owns was deleted. */
  void deleted() {
    deleted.incrementAndGet();
  }

  /** The ring version of the current or last pass (0 before the first). */
  long ring() {
    return passRing;
  }

  /** Whether the last pass against {@link #ring()} was done. */
  boolean done() {
    return passDone;
  }

  /** Copies owed now (for logs). */
  long missing() {
    return missing.get();
  }

  void attach(Scrubber s) {
    this.scrubber = s;
  }

  ReplicationReport report(Scrubber s) {
    long now = System.nanoTime();
    synchronized (this) {
      long dt = now - rateAt;
      if (dt > TimeUnit.SECONDS.toNanos(1)) {
        long m = moved.get();
        long instant = (long) ((m - rateMoved) * 1e9 / dt);
        rate = (rate + instant) / 2;
        rateMoved = m;
        rateAt = now;
      }
    }
    long sc = scanned.get();
    long t = total;
    long toMove = missingBytes.get();
    if (sc > 0 && t > sc) {
      toMove += (long) ((double) toMove / sc * (t - sc));
    }
    return new ReplicationReport(self, passRing, passDone, sc, t, Math.max(0, missing.get()),
        Math.max(0, toMove), moved.get(), rate,
        s == null ? 0 : s.scrubbed(), s == null ? 0 : s.corrupt(),
        s == null ? 0 : s.repaired(), Instant.now());
  }

  /**
   * Publishes the report if it differs from the last one published in anything but its time
   * (a settled peer writes nothing); a failed publish is tried again on the next call.
   * Serialized: the worker (at the end of a pass) and the reporter both publish, and two puts
   * in flight at once could land in the other order, leaving etcd with the older report
   * while this peer believes it published the newer one (a peer that never looks settled,
   * and a ring transition that waits for it).
   */
  synchronized void publish() {
    try {
      ReplicationReport r = report(scrubber);
      ReplicationReport last = published;
      if (last != null && last.equals(new ReplicationReport(r.nodeId(), r.ringVersion(),
          r.done(), r.scanned(), r.total(), r.missing(), r.bytesToMove(), r.bytesMoved(),
          r.rateBytesPerSecond(), r.scrubbed(), r.corruptFound(), r.repaired(),
          last.updated()))) {
        return;
      }
      reports.publish(r);
      published = r;
    } catch (RuntimeException e) {
      published = null; // the put may still land: the next call puts again whatever it holds
      log.debug("could not publish the replication report: {}", e.toString());
    }
  }

  long bytesMoved() {
    return moved.get();
  }

  long copiesMade() {
    return copies.get();
  }

  long copiesDeleted() {
    return deleted.get();
  }

  long passes() {
    return passes.get();
  }
}
