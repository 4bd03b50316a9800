package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.StaleEpochException;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One put of a replicated block, as a chain of peer futures: no thread waits for a peer.
 *
 * <p><b>Order.</b> The block goes to the first {@code R} peers of the ring order (replicas,
 * then {@link DistributedBlockLayer#FALLBACKS fallbacks}) that are live and not suspect, all
 * at once. Each peer that fails (or is down, or suspect) is replaced by the next untried peer
 * in ring order as soon as its failure is known, until {@code R} copies are stored or the
 * order is used up. A copy stored on a peer outside the ring's replicas is a hint.
 *
 * <p><b>Outcome.</b> The future succeeds as soon as the write level's required copies are
 * stored; the ones still on their way (a weaker write level than ALL) carry on without the
 * caller, on a private copy of the bytes taken at the start (so the caller's buffer is free
 * when the future completes), and join the put's record for the next barrier if they land
 * before it (a copy beyond the required ones needs no barrier). It fails
 * once that can no longer happen, after every request ended, with EIO (or ENOSPC if every
 * failure was a full peer) naming every peer and why it failed. A peer that refuses the epoch
 * ({@link StaleEpochException}) or holds other bytes under the ref
 * ({@link RefConflictException}) fails it at once and stops the fail-over: this writer is
 * fenced, or the ref names other bytes, and no fallback may be given them.
 *
 * <p><b>Concurrency.</b> Peer answers arrive on the transport's callback threads; the state
 * below is guarded by this object's monitor, held only to update it and decide. Sends, the
 * tracking of copies and the completion of the future happen outside it. Nothing here blocks
 * or does disk I/O; the future completes on a callback thread (or on the caller's, when every
 * peer was ruled out without a request).
 */
final class ReplicatedPut {
  private static final Logger log = LoggerFactory.getLogger(DistributedBlockLayer.class);

  private final LayerContext ctx;
  private final BlockRef ref;
  private final ByteBuffer data;
  private final int crc32c;
  private final List<String> order;
  private final List<String> intended;
  private final int ringSize;
  /** Copies to store: the replication, or 1 for a shard. */
  private final int copies;
  private final int required;
  /** Records the copies of the put for the next barrier; called before the future completes. */
  private final BiConsumer<BlockRef, Set<String>> track;
  /**
   * Records a copy that landed after the future completed, if the put is still tracked (not
   * flushed or deleted meanwhile: then it is a spare copy no barrier needs).
   */
  private final BiConsumer<BlockRef, String> trackLate;
  private final CompletableFuture<Void> result = new CompletableFuture<>();
  private final boolean sync;

  // guarded by this
  private int next;
  private int inFlight;
  private final Set<String> stored = new LinkedHashSet<>();
  private final Set<String> tried = new HashSet<>();
  /** Suspect peers passed over for a shard, asked once the order is used up. */
  private final List<String> suspects = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private final List<ErrorCode> codes = new ArrayList<>();
  /** The future was completed (or is about to be, by the thread that set this). */
  private boolean decided;
  private boolean succeeded;
  /** A peer fenced this writer or conflicted: no more sends. */
  private boolean stopped;
  /** Why a peer stopped the put, until {@link #decide} fails the future with it. */
  private TorusException fenced;
  /** Every request ended once with nothing left to send (logged then). */
  private boolean settledOnce;

  ReplicatedPut(LayerContext ctx, BlockRef ref, ByteBuffer data, int crc32c,
      BiConsumer<BlockRef, Set<String>> track, BiConsumer<BlockRef, String> trackLate) {
    this(ctx, ref, data, crc32c, false, track, trackLate);
  }

  /** @param sync whether each peer makes its copy durable before it answers */
  ReplicatedPut(LayerContext ctx, BlockRef ref, ByteBuffer data, int crc32c, boolean sync,
      BiConsumer<BlockRef, Set<String>> track, BiConsumer<BlockRef, String> trackLate) {
    this(ctx, ref, data, crc32c, sync, null, track, trackLate);
  }

  /**
   * @param sync whether each peer makes its copy durable before it answers
   * @param order the peers to try, in order, or null for the ref's ring order
   */
  ReplicatedPut(LayerContext ctx, BlockRef ref, ByteBuffer data, int crc32c, boolean sync,
      List<String> order, BiConsumer<BlockRef, Set<String>> track,
      BiConsumer<BlockRef, String> trackLate) {
    this.ctx = ctx;
    this.sync = sync;
    this.ref = ref;
    this.copies = ctx.copies(ref);
    this.required = ctx.required(ref);
    // a weaker write level completes before every copy landed: the rest need bytes of their own
    this.data = required < copies ? copy(data) : data;
    this.crc32c = crc32c;
    var ring = ctx.ring();
    this.order = order != null ? order : ctx.candidates(ring, ref);
    this.intended = ring.peers(ref, copies);
    this.ringSize = ring.members().size();
    this.track = track;
    this.trackLate = trackLate;
  }

  private static ByteBuffer copy(ByteBuffer b) {
    return ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip().asReadOnlyBuffer();
  }

  /** Sends the first requests; the future completes as the class comment says. */
  CompletableFuture<Void> start() {
    advance(null);
    return result;
  }

  private record Send(String peer, PeerClient client) {}

  /**
   * Updates the state with one answer (null when starting), then sends what the state now
   * calls for and completes the future if it is decided (logging what there is to log); the
   * last two outside the monitor.
   */
  private void advance(Runnable update) {
    List<Send> sends = new ArrayList<>();
    Runnable outcome;
    synchronized (this) {
      if (update != null) {
        update.run();
      }
      pick(sends);
      outcome = decide();
    }
    for (Send s : sends) {
      send(s);
    }
    outcome.run();
  }

  /** Chooses peers until enough copies are stored or on their way. Holds the monitor. */
  private void pick(List<Send> sends) {
    while (!stopped && stored.size() + inFlight < copies && next < order.size()) {
      String p = order.get(next++);
      if (!tried.add(p)) {
        continue;
      }
      PeerClient c = ctx.view.client(p);
      if (c == null) {
        problems.add(p + ": down");
      } else if (ctx.health.suspect(p)) {
        if (ref.striped()) {
          suspects.add(p); // a shard has no other copy to fall back on: asked last
        } else {
          problems.add(p + ": failing recently");
        }
      } else {
        inFlight++;
        sends.add(new Send(p, c));
      }
    }
    while (!stopped && stored.size() + inFlight < copies && next >= order.size()
        && !suspects.isEmpty()) {
      String p = suspects.remove(0);
      PeerClient c = ctx.view.client(p);
      if (c == null) {
        problems.add(p + ": down");
      } else {
        inFlight++;
        sends.add(new Send(p, c));
      }
    }
  }

  private void send(Send s) {
    CompletableFuture<Void> f;
    try {
      f = s.client().put(ref, ctx.epoch, data, crc32c, false, sync, ctx.timeout);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((v, e) -> answered(s.peer(), e));
  }

  private void answered(String peer, Throwable error) {
    if (error == null) {
      ctx.health.succeeded(peer);
      if (!intended.contains(peer)) {
        ctx.hints.incrementAndGet();
        log.debug("hint: block {} stored on substitute peer {} (ring replicas {})", ref, peer,
            intended);
      }
    }
    TorusException t = error == null ? null : TorusException.of(error);
    if (t != null && !(t instanceof StaleEpochException || t instanceof RefConflictException)
        && t.code() == ErrorCode.EIO) {
      ctx.health.failed(peer);
    }
    boolean[] late = new boolean[1];
    advance(() -> {
      inFlight--;
      if (t == null) {
        stored.add(peer);
        late[0] = succeeded; // landed after the caller was told: track it by itself
      } else if (t instanceof StaleEpochException || t instanceof RefConflictException) {
        // A conflict means the ref already names other bytes: storing these bytes on a
        // fallback peer would give one ref two contents, so the put stops here.
        stopped = true;
        if (!decided) {
          decided = true;
          fenced = t;
        } else if (succeeded) {
          log.warn("block {}: peer {} refused a copy after the put succeeded: {}", ref, peer,
              t.getMessage());
        }
      } else {
        problems.add(peer + ": " + t.getMessage());
        codes.add(t.code());
      }
    });
    if (late[0]) {
      trackLate.accept(ref, peer);
    }
  }

  /**
   * What to do once the monitor is released: succeed, fail, log, or nothing yet. Holds the
   * monitor.
   */
  private Runnable decide() {
    if (fenced != null) {
      TorusException t = fenced;
      fenced = null;
      return () -> result.completeExceptionally(t);
    }
    boolean settled = inFlight == 0 && !settledOnce;
    Runnable warning = () -> { };
    if (settled) {
      settledOnce = true;
      if (!stopped && stored.size() < copies && !problems.isEmpty()) {
        int n = stored.size();
        List<String> why = List.copyOf(problems);
        // one line a second at most: a cluster out of space fails every block the same way
        warning = () -> ctx.warnings.warn("under-replicated",
            "block {}: {} of {} copies stored; problems: {}", ref, n, copies, why);
      }
    }
    if (decided) {
      return warning;
    }
    if (stored.size() >= required) {
      decided = true;
      succeeded = true;
      // Only a put that succeeded is tracked for the next barrier: the caller of one that
      // failed treats the ref as never written (it writes the bytes again under a new ref),
      // and its stray copies are garbage that anti-entropy may move and collection delete.
      Set<String> copies = Set.copyOf(stored);
      Runnable logged = warning;
      return () -> {
        logged.run();
        track.accept(ref, copies);
        result.complete(null);
      };
    }
    if (settled) {
      decided = true;
      TorusException failure = failure();
      Runnable logged = warning;
      return () -> {
        logged.run();
        result.completeExceptionally(failure);
      };
    }
    return warning;
  }

  /** Why the put failed, naming every peer tried. Holds the monitor. */
  private TorusException failure() {
    // full everywhere it was tried: say so with the code the NBD client sees (ENOSPC)
    boolean full = !codes.isEmpty() && codes.stream().allMatch(c -> c == ErrorCode.ENOSPC);
    return new TorusException(full ? ErrorCode.ENOSPC : ErrorCode.EIO, "block " + ref
        + " stored on " + stored.size() + " of " + copies + " replicas; write level "
        + ctx.writeLevel + " needs " + required + " (ring has " + ringSize + " peers)"
        + (problems.isEmpty() ? "" : ": " + String.join("; ", problems)), null, !full);
  }
}
