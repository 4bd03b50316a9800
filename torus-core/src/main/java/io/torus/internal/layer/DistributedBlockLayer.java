package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.ReadLevel;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.WriteLevel;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.StaleEpochException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The block layer of a replicated volume: blocks live on the peers the ring names.
 *
 * <p><b>Put.</b> A block goes to the first {@code R} peers of {@code ring.peers(ref)} that
 * are live (registered) and not {@linkplain PeerHealth#suspect suspect}, in parallel. A peer
 * that is down or fails is replaced by the next peer on the ring (up to {@link #FALLBACKS}
 * beyond R); such a substitute copy is recorded as a <em>hint</em> (counted, logged) for
 * the rebalancer, and reads find it because they walk the same ring order. The put succeeds
 * when at least {@link WriteLevel#required} peers acknowledged it, else it throws EIO
 * (retryable) naming every peer and why it failed. A peer that refuses the volume's epoch
 * makes the put throw {@link StaleEpochException} at once: this writer is fenced.
 *
 * <p><b>Flush.</b> A barrier goes to every peer that acknowledged a put since the last
 * flush; each forces its stores and answers. Then every such block must be durable on at
 * least {@code required} peers whose barrier succeeded. A block short of that (its peer died
 * before the barrier) is copied from a peer that has it to the next peers on the ring, one
 * {@link ReplicaCopier} step each (put under the writer's epoch, then a barrier there); if it
 * still falls short, the flush throws EIO: nothing is
 * acknowledged that did not reach the required replicas. Too few live peers for the write
 * level therefore fail the flush with a message saying how many were needed and found.
 *
 * <p><b>Get.</b> {@link ReadLevel#FIRST}: peers in ring order (live, non-suspect first),
 * failing over on error, missing copy, checksum failure or deadline; {@link ReadLevel#VERIFY}
 * reads every live replica. A replica that answered "missing" or "corrupt" is repaired in
 * the background by the same step: the good copy is sent as a repair put and flushed there.
 *
 * <p>Concurrency: thread-safe; methods block (up to the request deadline per round) and run
 * on the node's I/O threads. Puts racing a flush are covered by the next flush.
 */
public final class DistributedBlockLayer implements BlockLayer {
  private static final io.torus.internal.storage.RateLimitedLog warnings =
      new io.torus.internal.storage.RateLimitedLog(
          org.slf4j.LoggerFactory.getLogger(DistributedBlockLayer.class),
          java.time.Duration.ofSeconds(1), System::nanoTime);
  private static final Logger log = LoggerFactory.getLogger(DistributedBlockLayer.class);
  /** Peers beyond R that a put or get may fall back to. */
  public static final int FALLBACKS = 4;

  private final PeerView view;
  private final PeerHealth health;
  private final int replication;
  private final long epoch;
  private final WriteLevel writeLevel;
  private final ReadLevel readLevel;
  private final Duration timeout;
  private final Executor background;
  private final ReplicaCopier copier;
  private final ReadWriteLock barrierLock = new ReentrantReadWriteLock();
  private Map<BlockRef, Set<String>> unflushed = new ConcurrentHashMap<>();
  private final AtomicLong hints = new AtomicLong();
  private final AtomicLong repairs = new AtomicLong();

  /**
   * @param view the ring and peers
   * @param health the node's record of failing peers
   * @param replication copies per block (R)
   * @param epoch the writer's fencing epoch (0 for a read-only handle, which never puts)
   * @param writeLevel copies that must be durable
   * @param readLevel how reads pick copies
   * @param timeout deadline of one peer request
   * @param background runs repairs, which block on peer requests: never an event loop, and
   *     never the executor that completes peer futures
   */
  public DistributedBlockLayer(PeerView view, PeerHealth health, int replication, long epoch,
      WriteLevel writeLevel, ReadLevel readLevel, Duration timeout, Executor background) {
    if (replication < 1) {
      throw TorusException.invalid("replication < 1: " + replication);
    }
    this.view = view;
    this.health = health;
    this.replication = replication;
    this.epoch = epoch;
    this.writeLevel = writeLevel;
    this.readLevel = readLevel;
    this.timeout = timeout;
    this.background = background;
    this.copier = new ReplicaCopier(null, 1, timeout);
  }

  /** Copies written to a substitute peer because a ring replica was down or failing. */
  public long hints() {
    return hints.get();
  }

  /** Repairs of missing or corrupt copies started. */
  public long repairs() {
    return repairs.get();
  }

  private Ring ring() {
    Ring r = view.ring();
    if (r == null) {
      throw new TorusException(ErrorCode.EIO, "the cluster has no ring yet (no peer joined)",
          null, true);
    }
    return r;
  }

  private List<String> candidates(Ring ring, BlockRef ref) {
    return ring.readPeers(ref, replication + FALLBACKS);
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    Ring ring = ring();
    List<String> order = candidates(ring, ref);
    List<String> intended = ring.peers(ref, replication);
    List<String> problems = new ArrayList<>();
    List<ErrorCode> codes = new ArrayList<>();
    Set<String> stored = store(ref, data, crc32c, order, new HashSet<>(), replication,
        new LinkedHashSet<>(), problems, codes);
    int required = writeLevel.required(replication);
    for (String p : stored) {
      if (!intended.contains(p)) {
        hints.incrementAndGet();
        log.debug("hint: block {} stored on substitute peer {} (ring replicas {})", ref, p,
            intended);
      }
    }
    if (stored.size() >= required) {
      // Only a put that succeeded is tracked for the next barrier: the caller of one that
      // threw treats the ref as never written (it writes the bytes again under a new ref),
      // and its stray copies are garbage that anti-entropy may move and collection delete.
      barrierLock.readLock().lock();
      try {
        unflushed.computeIfAbsent(ref, k -> ConcurrentHashMap.newKeySet()).addAll(stored);
      } finally {
        barrierLock.readLock().unlock();
      }
    } else {
      // full everywhere it was tried: say so with the code the NBD client sees (ENOSPC)
      boolean full = !codes.isEmpty() && codes.stream().allMatch(c -> c == ErrorCode.ENOSPC);
      throw new TorusException(full ? ErrorCode.ENOSPC : ErrorCode.EIO, "block " + ref
          + " stored on " + stored.size() + " of " + replication + " replicas; write level "
          + writeLevel + " needs " + required + " (ring has " + ring.members().size()
          + " peers)" + (problems.isEmpty() ? "" : ": " + String.join("; ", problems)),
          null, !full);
    }
  }

  /**
   * Deletes a garbage block from every peer that may hold a copy (its ring replicas and the
   * fallbacks a hinted write may have used). Best effort: a peer that misses the delete keeps
   * garbage for the collector, never a problem for data.
   */
  @Override
  public void delete(BlockRef ref) {
    barrierLock.readLock().lock();
    try {
      unflushed.remove(ref);
    } finally {
      barrierLock.readLock().unlock();
    }
    Ring ring = view.ring();
    if (ring == null) {
      return;
    }
    List<CompletableFuture<Boolean>> sent = new ArrayList<>();
    for (String p : candidates(ring, ref)) {
      PeerClient c = view.client(p);
      if (c != null) {
        // the writer's epoch authorizes it (a stale writer's deletes are refused)
        sent.add(epoch > 0 ? c.delete(ref, epoch, timeout) : c.delete(ref, timeout));
      }
    }
    for (CompletableFuture<Boolean> f : sent) {
      try {
        f.join();
      } catch (RuntimeException e) {
        log.debug("delete of garbage block {} failed on a peer: {}", ref, e.toString());
      }
    }
  }

  /**
   * Puts to peers of {@code order} not in {@code tried} until {@code want} acknowledged;
   * returns who did. Problems are appended to {@code problems}.
   */
  private Set<String> store(BlockRef ref, ByteBuffer data, int crc32c, List<String> order,
      Set<String> tried, int want, Set<String> stored, List<String> problems,
      List<ErrorCode> codes) {
    while (stored.size() < want) {
      List<String> batch = new ArrayList<>();
      for (String p : order) {
        if (batch.size() + stored.size() >= want) {
          break;
        }
        if (tried.contains(p)) {
          continue;
        }
        tried.add(p);
        if (view.client(p) == null) {
          problems.add(p + ": down");
        } else if (health.suspect(p)) {
          problems.add(p + ": failing recently");
        } else {
          batch.add(p);
        }
      }
      if (batch.isEmpty()) {
        break;
      }
      Map<String, CompletableFuture<Void>> sent = new HashMap<>();
      for (String p : batch) {
        sent.put(p, view.client(p).put(ref, epoch, data, crc32c, false, timeout));
      }
      for (Map.Entry<String, CompletableFuture<Void>> e : sent.entrySet()) {
        try {
          e.getValue().join();
          health.succeeded(e.getKey());
          stored.add(e.getKey());
        } catch (RuntimeException ex) {
          TorusException t = TorusException.of(ex);
          if (t instanceof StaleEpochException || t instanceof RefConflictException) {
            // A conflict means the ref already names other bytes: storing these bytes on a
            // fallback peer would give one ref two contents, so the put stops here.
            throw t;
          }
          if (t.code() == ErrorCode.EIO) {
            health.failed(e.getKey());
          }
          problems.add(e.getKey() + ": " + t.getMessage());
          codes.add(t.code());
        }
      }
    }
    if (stored.size() < want && !problems.isEmpty()) {
      // one line a second at most: a cluster out of space fails every block the same way
      warnings.warn("under-replicated", "block {}: {} of {} copies stored; problems: {}", ref,
          stored.size(), want, problems);
    }
    return stored;
  }

  @Override
  public void flush() {
    Map<BlockRef, Set<String>> batch;
    barrierLock.writeLock().lock();
    try {
      batch = unflushed;
      unflushed = new ConcurrentHashMap<>();
    } finally {
      barrierLock.writeLock().unlock();
    }
    if (batch.isEmpty()) {
      return;
    }
    try {
      flushBatch(batch);
    } catch (RuntimeException e) {
      barrierLock.readLock().lock();
      try {
        batch.forEach((ref, peers) -> unflushed.computeIfAbsent(ref,
            k -> ConcurrentHashMap.newKeySet()).addAll(peers));
      } finally {
        barrierLock.readLock().unlock();
      }
      throw e;
    }
  }

  private void flushBatch(Map<BlockRef, Set<String>> batch) {
    Set<String> peers = new HashSet<>();
    batch.values().forEach(peers::addAll);
    Map<String, String> failed = new HashMap<>();
    Set<String> durable = barrier(peers, failed);
    int required = writeLevel.required(replication);
    Ring ring = ring();
    Map<BlockRef, Set<String>> copies = new HashMap<>();
    for (Map.Entry<BlockRef, Set<String>> e : batch.entrySet()) {
      Set<String> ok = new HashSet<>(e.getValue());
      ok.retainAll(durable);
      if (ok.size() < required) {
        ok.addAll(rereplicate(e.getKey(), e.getValue(), ok, ring, required, failed));
      }
      copies.put(e.getKey(), ok);
    }
    for (Map.Entry<BlockRef, Set<String>> e : copies.entrySet()) {
      long n = e.getValue().size();
      if (n < required) {
        throw new TorusException(ErrorCode.EIO, "flush failed: block " + e.getKey()
            + " is durable on " + n + " peers, write level " + writeLevel + " with replication "
            + replication + " needs " + required + " (live peers: " + live(ring)
            + "; failed barriers and copies: " + failed + ")", null, true);
      }
    }
  }

  private List<String> live(Ring ring) {
    List<String> out = new ArrayList<>();
    ring.members().forEach(m -> {
      if (view.client(m.id()) != null && !health.suspect(m.id())) {
        out.add(m.id());
      }
    });
    return out;
  }

  /**
   * Copies a block that fell short from a peer that has it to the next peers on the ring
   * (with the writer's epoch: a fenced writer's copies are refused); returns the peers on
   * which the copy is now durable (put and barrier succeeded). Failures go to {@code failed}.
   */
  private Set<String> rereplicate(BlockRef ref, Set<String> holders, Set<String> durable,
      Ring ring, int required, Map<String, String> failed) {
    List<String> order = new ArrayList<>(durable);
    order.addAll(holders);
    List<ReplicaCopier.Source> sources = new ArrayList<>();
    for (String p : order) {
      PeerClient c = view.client(p);
      if (c != null) {
        sources.add(ReplicaCopier.peerSource(p, c, timeout));
      }
    }
    ReplicaCopier.Fetched found = copier.fetch(ref, sources);
    found.failed().forEach(health::failed);
    if (found.data() == null) {
      return Set.of();
    }
    Set<String> tried = new HashSet<>(holders);
    Set<String> got = new LinkedHashSet<>();
    int want = required - durable.size();
    for (String p : candidates(ring, ref)) {
      if (got.size() >= want) {
        break;
      }
      PeerClient c = view.client(p);
      if (!tried.add(p) || c == null || health.suspect(p)) {
        continue;
      }
      try {
        copier.copy(ref, found.data(), ReplicaCopier.peerTarget(p, c, epoch, false, timeout));
        health.succeeded(p);
        got.add(p);
      } catch (StaleEpochException e) {
        throw e;
      } catch (TorusException e) {
        if (e.code() == ErrorCode.EIO) {
          health.failed(p);
        }
        failed.put(p, e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(ErrorCode.EIO, "interrupted", e);
      }
    }
    hints.addAndGet(got.size());
    return got;
  }

  private Set<String> barrier(Set<String> peers, Map<String, String> failed) {
    Map<String, CompletableFuture<Void>> sent = new HashMap<>();
    for (String p : peers) {
      PeerClient c = view.client(p);
      if (c == null) {
        failed.put(p, "down");
      } else {
        sent.put(p, c.flush(timeout));
      }
    }
    Set<String> ok = new HashSet<>();
    for (Map.Entry<String, CompletableFuture<Void>> e : sent.entrySet()) {
      try {
        e.getValue().join();
        ok.add(e.getKey());
      } catch (RuntimeException ex) {
        health.failed(e.getKey());
        failed.put(e.getKey(), TorusException.of(ex).getMessage());
      }
    }
    return ok;
  }

  /** Gets are round trips to peers: a multi-block read fetches blocks in parallel. */
  @Override
  public int readParallelism() {
    return 8;
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    Ring ring = ring();
    List<String> order = new ArrayList<>();
    List<String> later = new ArrayList<>();
    for (String p : candidates(ring, ref)) {
      if (view.client(p) != null) {
        (health.suspect(p) ? later : order).add(p);
      }
    }
    order.addAll(later);
    return readLevel == ReadLevel.VERIFY ? getVerify(ref, ring, order) : getFirst(ref, order);
  }

  private ByteBuffer getFirst(BlockRef ref, List<String> order) {
    List<String> bad = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String p : order) {
      ByteBuffer b = read(p, ref, bad, problems);
      if (b != null) {
        repair(ref, b, bad);
        return b;
      }
    }
    throw new BlockUnavailableException("no good copy of block " + ref + " " + problems);
  }

  private ByteBuffer getVerify(BlockRef ref, Ring ring, List<String> order) {
    List<String> replicas = new ArrayList<>(ring.peers(ref, replication));
    replicas.retainAll(order);
    List<String> bad = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    ByteBuffer good = null;
    for (String p : replicas) {
      ByteBuffer b = read(p, ref, bad, problems);
      if (good == null) {
        good = b;
      }
    }
    for (String p : order) {
      if (good != null) {
        break;
      }
      if (!replicas.contains(p)) {
        good = read(p, ref, bad, problems);
      }
    }
    if (good == null) {
      throw new BlockUnavailableException("no good copy of block " + ref + " " + problems);
    }
    repair(ref, good, bad);
    return good;
  }

  /** One peer's copy, or null (recording a missing or corrupt copy in {@code bad}). */
  private ByteBuffer read(String p, BlockRef ref, List<String> bad, List<String> problems) {
    PeerClient c = view.client(p);
    if (c == null) {
      problems.add(p + ": down");
      return null;
    }
    try {
      ByteBuffer b = c.get(ref, timeout).join();
      health.succeeded(p);
      if (b == null) {
        bad.add(p);
        problems.add(p + ": missing");
      }
      return b;
    } catch (RuntimeException e) {
      TorusException t = TorusException.of(e);
      if (t instanceof CorruptBlockException) {
        bad.add(p);
      } else {
        health.failed(p);
      }
      problems.add(p + ": " + t.getMessage());
      return null;
    }
  }

  private void repair(BlockRef ref, ByteBuffer good, List<String> bad) {
    if (bad.isEmpty()) {
      return;
    }
    // A copy of its own: the caller owns (and may change) the buffer it was handed.
    ByteBuffer copy = ByteBuffer.allocate(good.remaining()).put(good.duplicate()).flip()
        .asReadOnlyBuffer();
    for (String p : bad) {
      PeerClient c = view.client(p);
      if (c == null) {
        continue;
      }
      repairs.incrementAndGet();
      ReplicaCopier.Target target = ReplicaCopier.peerTarget(p, c, epoch, true, timeout);
      background.execute(() -> {
        try {
          copier.copy(ref, copy, target);
          log.info("repaired block {} on peer {}", ref, p);
        } catch (RuntimeException e) {
          log.warn("repair of block {} on peer {} failed: {}", ref, p, e.toString());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
  }
}
