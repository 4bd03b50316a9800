package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.WriteLevel;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.spi.BlockRef;
import io.torus.internal.transport.PeerClient;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the parts of one {@link DistributedBlockLayer} share: the cluster view, the node's peer
 * health, the volume's redundancy and epoch, and the layer's counters. Immutable apart from
 * the counters; thread-safe.
 */
final class LayerContext {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(DistributedBlockLayer.class);
  final PeerView view;
  final PeerHealth health;
  /** Copies per block (R). */
  final int replication;
  /** The writer's fencing epoch (0 for a read-only handle). */
  final long epoch;
  final WriteLevel writeLevel;
  /** Deadline of one peer request. */
  final Duration timeout;
  /** Runs whatever blocks (repairs, re-replication): never an event loop or callback. */
  final Executor background;
  final ReplicaCopier copier;
  /** Copies written to a substitute peer. */
  final AtomicLong hints = new AtomicLong();
  /** Repairs of missing or corrupt copies started. */
  final AtomicLong repairs = new AtomicLong();
  /** Degraded gets of erasure-coded shards and the shards they rebuilt (node-wide). */
  final StripeCounters stripes;
  /** Read repairs queued or running on {@link #background}. */
  final java.util.concurrent.atomic.AtomicInteger repairsQueued =
      new java.util.concurrent.atomic.AtomicInteger();
  /** Read repairs queued at most; past it a repair is skipped (anti-entropy finds it later). */
  static final int MAX_QUEUED_REPAIRS = 256;
  /** Warnings that may repeat per block: at most one line per second per kind. */
  final io.torus.internal.storage.RateLimitedLog warnings =
      io.torus.internal.storage.RateLimitedLog.perSecond(
          org.slf4j.LoggerFactory.getLogger(DistributedBlockLayer.class));

  LayerContext(PeerView view, PeerHealth health, int replication, long epoch,
      WriteLevel writeLevel, Duration timeout, Executor background, StripeCounters stripes) {
    this.stripes = stripes;
    this.view = view;
    this.health = health;
    this.replication = replication;
    this.epoch = epoch;
    this.writeLevel = writeLevel;
    this.timeout = timeout;
    this.background = background;
    this.copier = new ReplicaCopier(null, 1, timeout);
  }

  /** The current ring; throws EIO (retryable) if the cluster has none yet. */
  Ring ring() {
    Ring r = view.ring();
    if (r == null) {
      throw new TorusException(ErrorCode.EIO, "the cluster has no ring yet (no peer joined)",
          null, true);
    }
    return r;
  }

  /**
   * The peers that may hold {@code ref}, in ring order: its replicas (a shard's one peer),
   * then fallbacks.
   */
  List<String> candidates(Ring ring, BlockRef ref) {
    return ring.readPeers(ref, copies(ref) + DistributedBlockLayer.FALLBACKS);
  }

  /**
   * Copies of {@code ref} to store: the replication, or 1 for a shard of an erasure-coded
   * stripe (its redundancy is the stripe's parity).
   */
  int copies(BlockRef ref) {
    return ref.striped() ? 1 : replication;
  }

  /** Copies {@code ref} must have for the write level: every one of a shard's. */
  int required(BlockRef ref) {
    return ref.striped() ? 1 : writeLevel.required(replication);
  }

  /**
   * Sends {@code copy} (bytes that never change) to peer {@code p} as a repair put and a
   * barrier there, on the background executor; skipped with a WARN (rate-limited) when
   * {@link #MAX_QUEUED_REPAIRS} are queued already (anti-entropy finds the block later).
   * Failures are logged at WARN, rate-limited. Never blocks.
   *
   * @param what how the log names the block ("block", "rebuilt shard")
   */
  void repairLater(BlockRef ref, ByteBuffer copy, String p, PeerClient c, String what) {
    int queued = repairsQueued.incrementAndGet();
    if (queued > MAX_QUEUED_REPAIRS) {
      repairsQueued.decrementAndGet();
      warnings.warn("repair skipped", "repair of {} {} on peer {} skipped: {} repairs are"
          + " queued already; anti-entropy repairs it later", what, ref, p, queued - 1);
      return;
    }
    repairs.incrementAndGet();
    ReplicaCopier.Target target = ReplicaCopier.peerTarget(p, c, epoch, true, timeout);
    try {
      background.execute(() -> {
        try {
          copier.copy(ref, copy, target);
          LOG.info("repaired {} {} on peer {}", what, ref, p);
        } catch (io.torus.TorusClosedException e) {
          LOG.debug("repair of {} {} on peer {} dropped: {}", what, ref, p, e.toString());
        } catch (RuntimeException e) {
          warnings.warn("repair failed", "repair of {} {} on peer {} failed: {}", what, ref, p,
              e.toString());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          repairsQueued.decrementAndGet();
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      repairsQueued.decrementAndGet();
      LOG.debug("repair of {} {} on peer {} not started: {}", what, ref, p, e.toString());
    }
  }
}
