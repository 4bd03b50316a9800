package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.StaleEpochException;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;

/**
 * The durability check of one flush over a batch of puts (each block with the peers that
 * acknowledged it since the previous flush).
 *
 * <p><b>Steps.</b> One flush barrier goes to every peer of the batch, all at once; a peer
 * answers once its stores are forced. When every barrier has answered (or failed, or missed
 * its deadline), each block must be durable on the write level's required peers, counting
 * only peers whose barrier succeeded. If every block is, the flush succeeds there and then,
 * on the thread that completed the last barrier. A block short of that (its peer died before
 * the barrier) is copied from a peer that has it to the next peers on the ring, one
 * {@link ReplicaCopier} step each (put under the writer's epoch, then a barrier there); if it
 * still falls short, the flush fails with EIO naming the block, the live peers and every
 * failed barrier and copy. That re-replication blocks on the copier, so it runs on the
 * layer's background executor, never on the thread of a peer answer.
 *
 * <p><b>Failure.</b> A {@link StaleEpochException} from a copy fails the flush at once (this
 * writer is fenced). The batch's puts are not forgotten on failure: the layer tracks them for
 * the next flush.
 *
 * <p>Used once, by one flush; the maps are concurrent because barrier answers arrive on
 * several callback threads.
 */
final class Barrier {
  private final LayerContext ctx;
  private final Map<BlockRef, Set<String>> batch;
  /** Peers whose barrier or copy failed, and why. */
  private final Map<String, String> failed = new ConcurrentHashMap<>();
  private final Set<String> durable = ConcurrentHashMap.newKeySet();

  Barrier(LayerContext ctx, Map<BlockRef, Set<String>> batch) {
    this.ctx = ctx;
    this.batch = batch;
  }

  /** Sends the barriers; completes once the batch is durable, or fails as above. */
  CompletableFuture<Void> run() {
    Set<String> peers = new HashSet<>();
    batch.values().forEach(peers::addAll);
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (String p : peers) {
      PeerClient c = ctx.view.client(p);
      if (c == null) {
        failed.put(p, "down");
        continue;
      }
      CompletableFuture<Void> f;
      try {
        f = c.flush(ctx.timeout);
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      sent.add(f.handle((v, e) -> {
        if (e == null) {
          durable.add(p);
        } else {
          ctx.health.failed(p);
          failed.put(p, TorusException.of(e).getMessage());
        }
        return null;
      }));
    }
    return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
        .thenCompose(v -> check());
  }

  /** After the barriers: done, or re-replication of the short blocks in the background. */
  private CompletableFuture<Void> check() {
    Ring ring = ctx.ring();
    Map<BlockRef, Set<String>> copies = new HashMap<>();
    boolean anyShort = false;
    for (Map.Entry<BlockRef, Set<String>> e : batch.entrySet()) {
      Set<String> ok = new HashSet<>(e.getValue());
      ok.retainAll(durable);
      anyShort |= ok.size() < ctx.required(e.getKey());
      copies.put(e.getKey(), ok);
    }
    if (!anyShort) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      return CompletableFuture.runAsync(() -> repair(ring, copies), ctx.background);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO,
          "flush failed: cannot re-replicate short blocks: " + e, e, true));
    }
  }

  /** Re-replicates every short block, then fails if one is still short. Blocks. */
  private void repair(Ring ring, Map<BlockRef, Set<String>> copies) {
    for (Map.Entry<BlockRef, Set<String>> e : copies.entrySet()) {
      Set<String> ok = e.getValue();
      int required = ctx.required(e.getKey());
      if (ok.size() < required) {
        ok.addAll(rereplicate(e.getKey(), batch.get(e.getKey()), ok, ring, required));
      }
    }
    for (Map.Entry<BlockRef, Set<String>> e : copies.entrySet()) {
      long n = e.getValue().size();
      int required = ctx.required(e.getKey());
      if (n < required) {
        throw new TorusException(ErrorCode.EIO, "flush failed: block " + e.getKey()
            + " is durable on " + n + " peers, write level " + ctx.writeLevel
            + " with replication " + ctx.replication + " needs " + required + " (live peers: "
            + live(ring) + "; failed barriers and copies: " + failed + ")", null, true);
      }
    }
  }

  private List<String> live(Ring ring) {
    List<String> out = new ArrayList<>();
    ring.members().forEach(m -> {
      if (ctx.view.client(m.id()) != null && !ctx.health.suspect(m.id())) {
        out.add(m.id());
      }
    });
    return out;
  }

  /**
   * Copies a block that fell short from a peer that has it to the next peers on the ring
   * (with the writer's epoch: a fenced writer's copies are refused); returns the peers on
   * which the copy is now durable (put and barrier succeeded). Failures go to
   * {@code failed}. Blocks on the copier.
   */
  private Set<String> rereplicate(BlockRef ref, Set<String> holders, Set<String> durable,
      Ring ring, int required) {
    List<String> order = new ArrayList<>(durable);
    order.addAll(holders);
    List<ReplicaCopier.Source> sources = new ArrayList<>();
    for (String p : order) {
      PeerClient c = ctx.view.client(p);
      if (c != null) {
        sources.add(ReplicaCopier.peerSource(p, c, ctx.timeout));
      }
    }
    ReplicaCopier.Fetched found = ctx.copier.fetch(ref, sources);
    found.failed().forEach(ctx.health::failed);
    if (found.data() == null) {
      return Set.of();
    }
    Set<String> tried = new HashSet<>(holders);
    Set<String> got = new LinkedHashSet<>();
    int want = required - durable.size();
    for (String p : ctx.candidates(ring, ref)) {
      if (got.size() >= want) {
        break;
      }
      PeerClient c = ctx.view.client(p);
      if (!tried.add(p) || c == null || ctx.health.suspect(p)) {
        continue;
      }
      try {
        ctx.copier.copy(ref, found.data(),
            ReplicaCopier.peerTarget(p, c, ctx.epoch, false, ctx.timeout));
        ctx.health.succeeded(p);
        got.add(p);
      } catch (StaleEpochException e) {
        throw e;
      } catch (TorusException e) {
        if (e.code() == ErrorCode.EIO) {
          ctx.health.failed(p);
        }
        failed.put(p, e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(ErrorCode.EIO, "interrupted", e);
      }
    }
    ctx.hints.addAndGet(got.size());
    return got;
  }
}
