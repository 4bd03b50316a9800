package io.torus.internal.rebalance;

import io.torus.VolumeInfo;
import io.torus.internal.layer.PeerView;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.replica.RateLimiter;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.UnionRing;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One peer's part in keeping every block where the ring wants it: rebalance after ring
 * changes, re-replication after a lost peer, and anti-entropy (copies missed while a replica
 * was down, substitute copies written by the data path). All three are the same
 * <em>pass</em> over the blocks this peer holds, against a target ring: the ring itself, or
 * for a {@link UnionRing} (a transition) its {@code next} ring.
 *
 * <p>For each block held, a pass asks the block's owners under the target ring (its first R
 * peers, R being the volume's replication) whether they hold it (batched HAS requests), then:
 * <ul>
 *   <li>if this peer is an owner and the first owner (in ring order) holding the block, it
 *       copies the block to every owner that is up and lacks it, then asks those owners for
 *       a flush barrier; only an acknowledged barrier counts a copy as made;
 *   <li>if this peer is not an owner and no owner holds the block, it copies it to them the
 *       same way (a substitute copy, or a block whose owners all changed);
 *   <li>if this peer is not an owner and every owner holds the block, it deletes its copy,
 *       but only while the ring is not a transition and the ring version stored in etcd, read
 *       just before, is the one the pass works against. A failure of that read (etcd
 *       unreachable) deletes nothing.
 * </ul>
 *
 * <p><b>Invariants.</b> A copy is deleted only when all R owners of the current, stored,
 * non-transitional ring confirmed, with a verified HAS, that they hold it durably (a flush
 * barrier on the owner covered it) and that it passes its checksum; owners that are down
 * confirm nothing, so a block whose owner is down is kept ("when in doubt, keep"). Copies are
 * made with the repair flag (they restore bytes the ref already names, so a writer's fencing
 * epoch does not apply). A pass is <em>done</em> when it went over every block and nothing is
 * left that this peer could do now (copies owed to down peers are counted as missing, not as
 * undone work); the coordinator retires a transition when every up member reported done for
 * it.
 *
 * <p><b>Structure.</b> This class wires three parts and keeps the public face: the
 * {@link ReplicaPlanner} (pure: from owners and HAS answers to pushes and allowed drops), the
 * {@link RebalanceWorker} (the thread: pages through the local store, asks peers, carries the
 * plan out with the {@link ReplicaCopier} step) and the {@link RebalanceProgress} (the
 * {@link PassCursor} in the progress file, the counters and the published report).
 *
 * <p><b>Concurrency.</b> One worker thread runs passes; a ring change aborts the current pass
 * at the next page and starts one against the new ring. Counters are atomics read by the
 * reporter and metrics threads. Copies go through this peer's {@link RateLimiter}.
 *
 * <p><b>Failure.</b> A peer that fails a HAS, put or barrier is treated as down for the rest
 * of the page and makes the pass not done; etcd being unreachable stops the pass (the volume
 * list cannot be read) and it is retried; a restart resumes from the {@link PassCursor} saved
 * after every page.
 */
public final class Rebalancer implements AutoCloseable {
  /** Refs per HAS request and per cursor save. */
  static final int PAGE = 256;
  /** Copies to one target in flight at a time (pipelined on its connection). */
  private static final int IN_FLIGHT = 16;

  private final RebalanceProgress progress;
  private final RebalanceWorker worker;
  private final String self;
  private final StorePeerService local;
  private final PeerView view;
  private final ReplicaCopier copier;
  private final Duration timeout;

  /**
   * Starts the worker thread.
   *
   * @param self this peer's id
   * @param local this peer's blocks
   * @param view the ring and the live peers
   * @param volumes the volumes by id (read from the metadata service; throws EIO when it
   *     cannot be read)
   * @param storedRingVersion reads the ring version stored in etcd now (throws when it cannot)
   * @param reports where progress reports go
   * @param cursorFile where progress is persisted, or null
   * @param options the copy rate and the anti-entropy interval
   * @param timeout deadline of one peer request
   */
  public Rebalancer(String self, StorePeerService local, PeerView view,
      Supplier<Map<Long, VolumeInfo>> volumes, LongSupplier storedRingVersion,
      RebalanceStore reports, Path cursorFile, RebalanceOptions options, Duration timeout) {
    this.progress = new RebalanceProgress(self, cursorFile, reports);
    this.self = self;
    this.local = local;
    this.view = view;
    this.timeout = timeout;
    this.copier = new ReplicaCopier(
        new RateLimiter(options.rebalanceBytesPerSecond(), System::nanoTime), IN_FLIGHT, timeout);
    this.worker = new RebalanceWorker(self, local, view, volumes, storedRingVersion, progress,
        copier, options.antiEntropyInterval());
    worker.start();
  }

  /** Starts a pass now (a peer coming up, or an operator asking). */
  public void wake() {
    worker.wake();
  }

  /**
   * Starts a pass against a new ring of {@code peers} members within a random delay of up to
   * {@link #ringChangeSpread} (4 ms a member, at most 2 s), so the peers of a large cluster do
   * not all start theirs at once.
   */
  public void ringChanged(int peers) {
    worker.wakeWithin(ringChangeSpread(peers));
  }

  /** The longest delay of a pass after a ring change of {@code peers} members, in ms. */
  static long ringChangeSpread(int peers) {
    return Math.min(2000, 4L * peers);
  }

  /** This peer's progress now, with {@code scrubber}'s counts (null: none). */
  public ReplicationReport report(Scrubber scrubber) {
    return progress.report(scrubber);
  }

  /** The scrubber whose counts go into this peer's reports. */
  public void attach(Scrubber s) {
    progress.attach(s);
  }

  /**
   * Turns on the rebuild of shards of erasure-coded stripes that no peer holds any more
   * ({@link StripeRepair}).
   *
   * @param read a shard's stored bytes from whichever peer has them
   * @param rebuild a shard's bytes rebuilt from its stripe (for a parity shard, given the
   *     stripe's data positions)
   */
  public void attachStripes(Function<BlockRef, CompletableFuture<ByteBuffer>> read,
      java.util.function.BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> rebuild) {
    worker.attach(new StripeRepair(self, local, view, copier, read, rebuild, timeout));
  }

  /** Publishes this peer's report (best effort: failures are logged). */
  public void publish() {
    progress.publish();
  }

  /** Bytes copied to other peers since start. */
  public long bytesMoved() {
    return progress.bytesMoved();
  }

  /** Copies made since start. */
  public long copiesMade() {
    return progress.copiesMade();
  }

  /** Copies deleted (moved away) since start. */
  public long copiesDeleted() {
    return progress.copiesDeleted();
  }

  /** Complete passes since start. */
  public long passes() {
    return progress.passes();
  }

  /** Stops the worker (waits up to 10 s for it). */
  @Override
  public void close() {
    worker.close();
  }
}
