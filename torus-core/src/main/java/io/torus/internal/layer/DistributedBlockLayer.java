package io.torus.internal.layer;

import io.torus.ReadLevel;
import io.torus.TorusException;
import io.torus.WriteLevel;
import io.torus.internal.Crc32c;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.StaleEpochException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The block layer of a replicated volume: blocks live on the peers the ring names.
 *
 * <p><b>Put.</b> A block goes to the first {@code R} peers of {@code ring.peers(ref)} that
 * are live (registered) and not {@linkplain PeerHealth#suspect suspect}, in parallel. A peer
 * that is down or fails is replaced by the next peer on the ring as soon as its failure is
 * known (up to {@link #FALLBACKS} beyond R); such a substitute copy is recorded as a
 * <em>hint</em> (counted, logged) for the rebalancer, and reads find it because they walk
 * the same ring order. The put succeeds when at least {@link WriteLevel#required} peers
 * acknowledged it, else it throws EIO (retryable) naming every peer and why it failed. A
 * peer that refuses the volume's epoch makes the put throw {@link StaleEpochException} at
 * once, without fail-over: this writer is fenced.
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
 * reads every live replica at once. A replica that answered "missing" or "corrupt" is repaired in
 * the background by the same step: the good copy is sent as a repair put and flushed there.
 *
 * <p><b>Erasure-coded volumes.</b> A ref with a stripe layout is a shard: one copy on its
 * own peer ({@link io.torus.internal.ring.StripePlacement}). The data shards of a
 * {@link #putAllAsync} are put as stripes with their parity ({@link StripedWrites}), a get of
 * a data shard with no stored copy rebuilds it from its stripe ({@link StripedReads}), and a
 * delete of a shard does nothing (only the collector, which sees a whole stripe dead, deletes
 * shards).
 *
 * <p><b>Asynchronous.</b> Each operation is a chain of peer futures ({@link ReplicatedPut},
 * {@link ReplicatedGet}, {@link Barrier}): sends to several peers go out together, a fail-over
 * is the next future composed on a failed one, and no thread waits for a peer. The
 * synchronous methods wait for their asynchronous twin and throw what it failed with. The
 * futures complete on the transport's callback threads (never an event loop), or on the
 * background executor for a flush that had to re-replicate, or on the caller's thread when
 * nothing had to be asked. The layer's own continuations never block and never do disk I/O:
 * what blocks (repairs and re-replication, through the {@link ReplicaCopier}) runs on the
 * background executor. A caller whose dependent action blocks must give it an executor.
 *
 * <p><b>Concurrency.</b> Thread-safe; gets and puts share no lock (a put takes the shared side
 * of the barrier lock for a moment to record its copies; a flush takes the exclusive side only
 * to swap the record). Puts racing a flush are covered by the next flush. A flush also waits
 * for every flush still running when it was called, and fails if one of them fails: a put
 * that completed before it may be in that flush's batch.
 */
public final class DistributedBlockLayer implements BlockLayer {
  private static final Logger log = LoggerFactory.getLogger(DistributedBlockLayer.class);
  /** Peers beyond R that a put or get may fall back to. */
  public static final int FALLBACKS = 4;

  private final LayerContext ctx;
  private final ReadLevel readLevel;
  private final ReadWriteLock barrierLock = new ReentrantReadWriteLock();
  /** Copies acknowledged since the last flush swapped the map; guarded by barrierLock. */
  private Map<BlockRef, Set<String>> unflushed = new ConcurrentHashMap<>();
  /** The batches of flushes still running; changed under the exclusive barrier lock. */
  private final Set<CompletableFuture<Void>> flushing = ConcurrentHashMap.newKeySet();
  private final StripedWrites stripedWrites;
  private final StripedReads stripedReads;

  /**
   * @param view the ring and peers
   * @param health the node's record of failing peers
   * @param replication copies per block (R)
   * @param epoch the writer's fencing epoch (0 for a read-only handle, which never puts)
   * @param writeLevel copies that must be durable
   * @param readLevel how reads pick copies
   * @param timeout deadline of one peer request
   * @param background runs repairs and re-replication, which block on peer requests: never
   *     an event loop, and never the executor that completes peer futures
   */
  public DistributedBlockLayer(PeerView view, PeerHealth health, int replication, long epoch,
      WriteLevel writeLevel, ReadLevel readLevel, Duration timeout, Executor background) {
    this(view, health, replication, epoch, writeLevel, readLevel, timeout, background,
        new StripeCounters());
  }

  /** As above, counting degraded reads of erasure-coded shards in {@code stripes}. */
  public DistributedBlockLayer(PeerView view, PeerHealth health, int replication, long epoch,
      WriteLevel writeLevel, ReadLevel readLevel, Duration timeout, Executor background,
      StripeCounters stripes) {
    if (replication < 1) {
      throw TorusException.invalid("replication < 1: " + replication);
    }
    this.ctx = new LayerContext(view, health, replication, epoch, writeLevel, timeout,
        background, stripes);
    this.readLevel = readLevel;
    this.stripedWrites = new StripedWrites(ctx);
    this.stripedReads = new StripedReads(ctx, this::directGet);
  }

  /** The peers' flush journal (the volume's writer commits most flushes through it). */
  @Override
  public java.util.Optional<FlushJournal> journal() {
    return java.util.Optional.of(new PeerJournal(ctx));
  }

  /** Copies written to a substitute peer because a ring replica was down or failing. */
  public long hints() {
    return ctx.hints.get();
  }

  /** Repairs of missing or corrupt copies started. */
  public long repairs() {
    return ctx.repairs.get();
  }

  /**
   * Gets of erasure-coded shards that were degraded (no direct copy: rebuilt or failed), by
   * every layer sharing this one's counters.
   */
  public long degradedReads() {
    return ctx.stripes.degradedReads();
  }

  /** Shards rebuilt from their stripes by degraded gets. */
  public long rebuiltShards() {
    return ctx.stripes.rebuiltShards();
  }

  /**
   * Puts each replicated block as {@link #putAsync} does, and each erasure-coded stripe as
   * {@link StripedWrites} does: parity encoded here, every shard to its own peer.
   */
  @Override
  public List<CompletableFuture<Void>> putAllAsync(List<Write> writes, boolean durable) {
    List<CompletableFuture<Void>> out = new ArrayList<>(writes.size());
    Map<BlockRef, List<Integer>> stripes = new java.util.LinkedHashMap<>();
    for (int i = 0; i < writes.size(); i++) {
      Write w = writes.get(i);
      if (dataShard(w.ref())) {
        stripes.computeIfAbsent(w.ref().stripe(), s -> new ArrayList<>()).add(i);
        out.add(null);
      } else {
        int crc = Crc32c.of(w.data());
        out.add(durable ? putDurableAsync(w.ref(), w.data(), crc)
            : putAsync(w.ref(), w.data(), crc));
      }
    }
    for (List<Integer> members : stripes.values()) {
      List<Write> shards = new ArrayList<>(members.size());
      members.forEach(i -> shards.add(writes.get(i)));
      CompletableFuture<Void> stored = durable ? stripedWrites.put(shards, true, null, null)
          : stripedWrites.put(shards, false, this::track, this::trackLate);
      members.forEach(i -> out.set(i, stored));
    }
    return out;
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    Futures.join(putAsync(ref, data, crc32c));
  }

  /**
   * Sends the block to its peers as {@link ReplicatedPut} says; completes on a callback
   * thread. An erasure-coded data shard put alone is a stripe of its own.
   */
  @Override
  public CompletableFuture<Void> putAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    if (dataShard(ref)) {
      return stripedWrites.put(List.of(new Write(ref, data)), false, this::track,
          this::trackLate);
    }
    try {
      return new ReplicatedPut(ctx, ref, data, crc32c, this::track, this::trackLate).start();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * A put whose copies are durable when it completes: each peer forces the store that holds
   * it before it answers, so no barrier needs to cover it.
   */
  @Override
  public CompletableFuture<Void> putDurableAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    if (dataShard(ref)) {
      return stripedWrites.put(List.of(new Write(ref, data)), true, null, null);
    }
    try {
      return new ReplicatedPut(ctx, ref, data, crc32c, true, (r, peers) -> { },
          (r, peer) -> { }).start();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Whether {@code ref} is a data shard of an erasure-coded stripe. */
  private static boolean dataShard(BlockRef ref) {
    return ref.striped() && ref.kind() == BlockKind.DATA;
  }

  /** Records copies of a put that succeeded for the next barrier. Never waits long. */
  private void track(BlockRef ref, Set<String> peers) {
    barrierLock.readLock().lock();
    try {
      unflushed.computeIfAbsent(ref, k -> ConcurrentHashMap.newKeySet()).addAll(peers);
    } finally {
      barrierLock.readLock().unlock();
    }
  }

  /** Adds a late copy to a put still waiting for its barrier (not flushed, not deleted). */
  private void trackLate(BlockRef ref, String peer) {
    barrierLock.readLock().lock();
    try {
      unflushed.computeIfPresent(ref, (k, peers) -> {
        peers.add(peer);
        return peers;
      });
    } finally {
      barrierLock.readLock().unlock();
    }
  }

  @Override
  public void delete(BlockRef ref) {
    Futures.join(deleteAsync(ref));
  }

  /**
   * Deletes a garbage block from every peer that may hold a copy, one request each, all at
   * once: the peers that acknowledged it, for a block put since the last flush; else its ring
   * replicas and the fallbacks a hinted write may have used. Best effort: a peer that misses
   * the delete (or holds a stray copy of a put attempt that failed) keeps garbage for the
   * collector, never a problem for data. The future never fails and completes once every
   * peer answered or failed; a caller may drop it.
   */
  @Override
  public CompletableFuture<Void> deleteAsync(BlockRef ref) {
    if (ref.striped()) {
      // a shard rebuilds its stripe's other shards: only the collector, which sees the whole
      // stripe is garbage, deletes it (and a barrier still covers it if it is unflushed)
      return CompletableFuture.completedFuture(null);
    }
    Set<String> holders;
    barrierLock.readLock().lock();
    try {
      holders = unflushed.remove(ref);
    } finally {
      barrierLock.readLock().unlock();
    }
    Ring ring = ctx.view.ring();
    if (ring == null) {
      return CompletableFuture.completedFuture(null);
    }
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (String p : holders != null ? List.copyOf(holders) : ctx.candidates(ring, ref)) {
      PeerClient c = ctx.view.client(p);
      if (c != null) {
        CompletableFuture<Boolean> f;
        try {
          // the writer's epoch authorizes it (a stale writer's deletes are refused)
          f = ctx.epoch > 0 ? c.delete(ref, ctx.epoch, ctx.timeout)
              : c.delete(ref, ctx.timeout);
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        sent.add(f.handle((found, e) -> {
          if (e != null) {
            log.debug("delete of garbage block {} failed on a peer: {}", ref,
                Futures.unwrap(e).toString());
          }
          return null;
        }));
      }
    }
    return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new));
  }

  @Override
  public void flush() {
    Futures.join(flushAsync());
  }

  /**
   * A {@link Barrier} over the puts since the last flush, combined with the flushes still
   * running; completes on a callback thread (the background executor after a
   * re-replication).
   */
  @Override
  public CompletableFuture<Void> flushAsync() {
    Map<BlockRef, Set<String>> batch;
    List<CompletableFuture<Void>> earlier;
    CompletableFuture<Void> own = new CompletableFuture<>();
    barrierLock.writeLock().lock();
    try {
      batch = unflushed;
      unflushed = new ConcurrentHashMap<>();
      earlier = List.copyOf(flushing);
      if (!batch.isEmpty()) {
        flushing.add(own);
      }
    } finally {
      barrierLock.writeLock().unlock();
    }
    if (batch.isEmpty()) {
      own.complete(null);
    } else {
      CompletableFuture<Void> work;
      try {
        work = new Barrier(ctx, batch).run();
      } catch (RuntimeException e) {
        work = CompletableFuture.failedFuture(e);
      }
      work.whenComplete((v, e) -> {
        if (e != null) {
          // not durable: the next flush tries these puts again
          barrierLock.readLock().lock();
          try {
            batch.forEach((ref, peers) -> unflushed.computeIfAbsent(ref,
                k -> ConcurrentHashMap.newKeySet()).addAll(peers));
          } finally {
            barrierLock.readLock().unlock();
          }
        }
        flushing.remove(own); // after the re-add: a later flush either waits or retries
        if (e != null) {
          own.completeExceptionally(Futures.unwrap(e));
        } else {
          own.complete(null);
        }
      });
    }
    if (earlier.isEmpty()) {
      return own;
    }
    List<CompletableFuture<Void>> all = new ArrayList<>(earlier);
    all.add(own);
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).handle((v, e) -> {
      if (e == null) {
        return null;
      }
      own.getNow(null); // this flush's own failure first, if it has one
      throw Futures.unwrap(e);
    });
  }

  /** Gets are round trips to peers: a multi-block read fetches blocks in parallel. */
  @Override
  public int readParallelism() {
    return 8;
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    return Futures.join(getAsync(ref));
  }

  /**
   * Reads as {@link ReplicatedGet} says, peers in ring order (live, non-suspect first);
   * completes on a callback thread.
   */
  @Override
  public CompletableFuture<ByteBuffer> getAsync(BlockRef ref) {
    if (dataShard(ref)) {
      return stripedReads.get(ref);
    }
    return directGet(ref);
  }

  /**
   * The bytes of a shard of an erasure-coded stripe, rebuilt from the other shards: a data
   * shard read or decoded (not written back), a parity shard encoded anew from the data
   * positions {@code present} (bit i: data position i holds a block; negative: as another
   * parity shard's header says). For the rebalancer and the scrubber, which store or compare
   * the result themselves.
   */
  public CompletableFuture<ByteBuffer> rebuildShard(BlockRef shard, int present) {
    if (!shard.striped()) {
      return CompletableFuture.failedFuture(TorusException.invalid("not a shard: " + shard));
    }
    return shard.kind() == BlockKind.PARITY
        ? stripedReads.parity(shard, present) : stripedReads.get(shard, false);
  }

  /** A get of the block's own copies (a shard's: no decoding). */
  private CompletableFuture<ByteBuffer> directGet(BlockRef ref) {
    try {
      Ring ring = ctx.ring();
      List<String> order = new ArrayList<>();
      List<String> later = new ArrayList<>();
      boolean everyCandidate = true;
      for (String p : ctx.candidates(ring, ref)) {
        if (ctx.view.client(p) != null) {
          (ctx.health.suspect(p) ? later : order).add(p);
        } else {
          everyCandidate = false;
        }
      }
      order.addAll(later);
      ReplicatedGet get = new ReplicatedGet(ctx, ref, order, everyCandidate);
      return readLevel == ReadLevel.VERIFY ? get.verify(ring.peers(ref, ctx.copies(ref)))
          : get.first();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
