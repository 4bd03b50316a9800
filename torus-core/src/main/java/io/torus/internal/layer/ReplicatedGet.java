package io.torus.internal.layer;

import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import io.torus.ReadLevel;
import io.torus.TorusException;
import io.torus.internal.transport.PeerClient;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One get of a replicated block, as a chain of peer futures: no thread waits for a peer.
 *
 * <p>{@link ReadLevel#FIRST} asks the peers of {@code order} one after another (the next only
 * once the previous failed, was missing the block or sent a copy failing its checksum) and
 * completes with the first good copy. {@link ReadLevel#VERIFY} asks every live ring replica
 * at once, takes the first good copy in ring order, and only if none has one goes on through
 * the other peers of {@code order} one by one. Either way a replica that answered "missing"
 * or "corrupt" is repaired in the background from the good copy; if no peer has one, the get
 * fails with {@link BlockUnavailableException} naming every peer and what it answered: a
 * {@link NotStoredException} if every peer that may hold the block was asked and answered
 * (none was down, none failed to answer).
 *
 * <p><b>Concurrency.</b> A get's steps follow one another (each starts from the completion of
 * the one before), so its lists need no lock; the parallel reads of VERIFY each produce a
 * value of their own. Continuations run on the transport's callback threads; they never block
 * or do disk I/O (a repair is handed to the layer's background executor). Gets share nothing
 * but the peer health map and the counters, so any number may run at once.
 */
final class ReplicatedGet {
  private final LayerContext ctx;
  private final BlockRef ref;
  /** Live peers that may hold the block: non-suspect ones first, each group in ring order. */
  private final List<String> order;
  private final List<String> bad = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  /** Whether a peer that may hold the block was down or did not answer. */
  private volatile boolean unsure;
  /** Whether a peer sent a copy failing its checksum. */
  private volatile boolean corrupt;

  /**
   * @param everyCandidate whether {@code order} holds every peer that may hold the block (none
   *     was left out for being down)
   */
  ReplicatedGet(LayerContext ctx, BlockRef ref, List<String> order, boolean everyCandidate) {
    this.ctx = ctx;
    this.ref = ref;
    this.order = order;
    this.unsure = !everyCandidate || order.isEmpty();
  }

  /** What one peer answered: a good copy, or why not. */
  private record Read(ByteBuffer data, String problem) {}

  /** FIRST: the first good copy in {@code order}. */
  CompletableFuture<ByteBuffer> first() {
    return from(0, List.of());
  }

  /** VERIFY: every ring replica in {@code replicas} (in ring order) at once, then the rest. */
  CompletableFuture<ByteBuffer> verify(List<String> replicas) {
    List<String> asked = new ArrayList<>(replicas);
    asked.retainAll(order);
    List<CompletableFuture<Read>> reads = new ArrayList<>(asked.size());
    for (String p : asked) {
      reads.add(read(p));
    }
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new))
        .thenCompose(v -> {
          ByteBuffer good = null;
          for (CompletableFuture<Read> f : reads) {
            ByteBuffer b = note(f.getNow(null)); // done (allOf), and reads never fail
            if (good == null) {
              good = b;
            }
          }
          return good != null ? CompletableFuture.completedFuture(found(good))
              : from(0, asked);
        });
  }

  /** Tries {@code order} from index {@code i}, skipping {@code skip}, one peer at a time. */
  private CompletableFuture<ByteBuffer> from(int i, List<String> skip) {
    while (i < order.size() && skip.contains(order.get(i))) {
      i++;
    }
    if (i == order.size()) {
      String message = "no good copy of block " + ref
          + (problems.isEmpty() ? ": none of its peers is up" : " " + problems);
      return CompletableFuture.failedFuture(unsure ? new BlockUnavailableException(message)
          : new NotStoredException(message, corrupt));
    }
    int at = i;
    return read(order.get(i)).thenCompose(r -> {
      ByteBuffer b = note(r);
      return b != null ? CompletableFuture.completedFuture(found(b)) : from(at + 1, skip);
    });
  }

  /** Records what a peer answered; its copy, or null. */
  private ByteBuffer note(Read r) {
    if (r.data() == null) {
      problems.add(r.problem());
    }
    return r.data();
  }

  private ByteBuffer found(ByteBuffer good) {
    repair(good);
    return good;
  }

  /** One peer's answer; never fails (a failure is an answer without a copy). */
  private CompletableFuture<Read> read(String p) {
    PeerClient c = ctx.view.client(p);
    if (c == null) {
      unsure = true;
      return CompletableFuture.completedFuture(new Read(null, p + ": down"));
    }
    CompletableFuture<ByteBuffer> f;
    try {
      f = c.get(ref, ctx.timeout);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.handle((b, e) -> {
      if (e == null) {
        ctx.health.succeeded(p);
        if (b == null) {
          synchronized (bad) { // VERIFY's parallel reads add here
            bad.add(p);
          }
          return new Read(null, p + ": missing");
        }
        return new Read(b, null);
      }
      TorusException t = TorusException.of(e);
      if (t instanceof CorruptBlockException) {
        corrupt = true;
        synchronized (bad) {
          bad.add(p);
        }
      } else {
        unsure = true;
        ctx.health.failed(p);
      }
      return new Read(null, p + ": " + t.getMessage());
    });
  }

  /**
   * Sends the good copy to every replica that was missing it or had a corrupt one, each as a
   * repair put and a barrier there, on the background executor (the copier blocks).
   */
  private void repair(ByteBuffer good) {
    List<String> targets;
    synchronized (bad) {
      targets = List.copyOf(bad);
    }
    if (targets.isEmpty()) {
      return;
    }
    // A copy of its own: the caller owns (and may change) the buffer it was handed.
    ByteBuffer copy = ByteBuffer.allocate(good.remaining()).put(good.duplicate()).flip()
        .asReadOnlyBuffer();
    for (String p : targets) {
      PeerClient c = ctx.view.client(p);
      if (c != null) {
        ctx.repairLater(ref, copy, p, c, "block");
      }
    }
  }
}
