package io.torus.internal.layer;

import io.torus.BlockUnavailableException;
import io.torus.TorusException;
import io.torus.internal.erasure.ParityBlock;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Gets of erasure-coded data shards. A shard is read directly from its peer (then the
 * stripe's fallbacks, where a put may have placed it while its peer was down): no decoding
 * while that works. If no peer has a good copy the read is <em>degraded</em>: the stripe's
 * parity shards are read, their header tells which other data shards exist, those are read,
 * and the shard is rebuilt from any {@code k} shards known (absent positions count as known
 * zeros) and checked against the CRC the header records. With fewer than {@code k} shards
 * readable the get fails with {@link BlockUnavailableException} naming the stripe and what
 * each shard's peers answered: never with wrong bytes.
 *
 * <p>Gets of shards of the same stripe that are degraded at once share one fetch of the
 * stripe (a sequential read of a stripe whose peer is down reads it once, not k times). A
 * rebuilt shard whose own peer is up is written back to it in the background (read repair).
 *
 * <p>Thread-safe; continuations run on the transport's callback threads and never block.
 */
final class StripedReads {
  private final LayerContext ctx;
  /** Gets by peer order: one shard's direct read (a {@link ReplicatedGet}). */
  private final Function<BlockRef, CompletableFuture<ByteBuffer>> direct;
  /** Stripes being fetched for degraded reads, by stripe name. */
  private final ConcurrentHashMap<BlockRef, CompletableFuture<Fetched>> fetching =
      new ConcurrentHashMap<>();

  StripedReads(LayerContext ctx, Function<BlockRef, CompletableFuture<ByteBuffer>> direct) {
    this.ctx = ctx;
    this.direct = direct;
  }

  /** The shards of a stripe that could be read, and why the others could not. */
  private record Fetched(ParityBlock header, ByteBuffer[] data, ByteBuffer[] parity,
      List<String> problems) {}

  CompletableFuture<ByteBuffer> get(BlockRef ref) {
    return get(ref, true);
  }

  /**
   * A data shard's bytes, rebuilt from its stripe if need be.
   *
   * @param writeBack whether a rebuilt shard is written back to its peer in the background
   */
  CompletableFuture<ByteBuffer> get(BlockRef ref, boolean writeBack) {
    return direct.apply(ref).handle((b, e) -> {
      if (e == null) {
        return CompletableFuture.completedFuture(b);
      }
      TorusException t = TorusException.of(Futures.unwrap(e));
      if (!(t instanceof BlockUnavailableException)) {
        return CompletableFuture.<ByteBuffer>failedFuture(t);
      }
      return degraded(ref, t.getMessage(), writeBack);
    }).thenCompose(f -> f);
  }

  /**
   * A parity shard encoded anew from its stripe's data shards (each read directly or
   * rebuilt): the same bytes the writer stored, since coding is deterministic. With
   * {@code present >= 0} the caller knows which data positions the stripe has (bit i:
   * position i holds data; a scrubber from the stored copy's header, the rebalancer from
   * another parity shard's), and every one of them must be readable; else the stripe itself
   * says (see {@link #parityFromStripe}).
   */
  CompletableFuture<ByteBuffer> parity(BlockRef ref, int present) {
    if (present < 0) {
      return parityFromStripe(ref);
    }
    int k = ref.dataShards();
    int m = ref.parityShards();
    if (present == 0 || (k < 31 && present >>> k != 0)) {
      return CompletableFuture.failedFuture(TorusException.invalid("parity shard " + ref
          + ": data positions " + Integer.toBinaryString(present) + " do not fit the stripe"));
    }
    List<CompletableFuture<ByteBuffer>> data = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      data.add((present >>> i & 1) != 0 ? get(ref.shard(i), false)
          : CompletableFuture.completedFuture(null));
    }
    return CompletableFuture.allOf(data.toArray(CompletableFuture[]::new)).thenApply(w -> {
      ByteBuffer[] shards = new ByteBuffer[k];
      for (int i = 0; i < k; i++) {
        shards[i] = data.get(i).join(); // done; a failed read fails the encoding
      }
      return ParityBlock.encode(StripedWrites.coder(k, m), shards)[ref.shardIndex() - k];
    });
  }

  /**
   * A parity shard encoded anew from its stripe's data shards (each read directly or rebuilt):
   * the same bytes the writer stored, since coding is deterministic. Which data shards the
   * stripe has comes from another parity shard's header. With none readable, only if every
   * other parity shard is known lost (every peer that may hold it answered, none with a good
   * copy: see {@link NotStoredException}): then no more than {@code m} shards are lost only if
   * every data shard is stored, so a data shard that no peer holds is a position written with
   * no block. A data shard merely unreachable (its peer down, or not answering), or another
   * parity shard that may still be stored, fails the get with
   * {@link BlockUnavailableException}: taking an unreachable position for an absent one would
   * encode a wrong parity that passes its checksum. A later attempt, once those peers are
   * back, rebuilds it.
   */
  private CompletableFuture<ByteBuffer> parityFromStripe(BlockRef ref) {
    int k = ref.dataShards();
    int m = ref.parityShards();
    List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Attempt>> others = new ArrayList<>(m);
    for (int j = 0; j < m; j++) {
      others.add(k + j == ref.shardIndex() ? CompletableFuture.completedFuture(null)
          : attempt(ref.shard(k + j), problems));
    }
    return CompletableFuture.allOf(others.toArray(CompletableFuture[]::new)).thenCompose(v -> {
      ParityBlock header = null;
      String unknown = null; // another parity shard that may be stored, or null
      for (int j = 0; j < m && header == null; j++) {
        Attempt a = others.get(j).getNow(null);
        if (a == null) {
          continue; // the shard being encoded
        }
        if (a.data() == null) {
          unknown = a.notStored() ? unknown : ref.shard(k + j).toString();
          continue;
        }
        try {
          header = ParityBlock.parse(a.data(), k, m, ref.shard(k + j).toString());
        } catch (TorusException e) {
          problems.add(e.getMessage()); // a stored copy with no header: lost as a header
        }
      }
      if (header == null && unknown != null) {
        return CompletableFuture.failedFuture(new BlockUnavailableException("parity shard "
            + ref + ": no parity header of its stripe readable, and parity shard " + unknown
            + " may still be stored " + problems));
      }
      ParityBlock h = header;
      List<CompletableFuture<Attempt>> data = new ArrayList<>(k);
      for (int i = 0; i < k; i++) {
        data.add(h == null ? attempt(ref.shard(i), problems)
            : h.has(i) ? get(ref.shard(i), false).thenApply(b -> new Attempt(b, false))
            : CompletableFuture.completedFuture(null));
      }
      return CompletableFuture.allOf(data.toArray(CompletableFuture[]::new)).thenApply(w -> {
        ByteBuffer[] shards = new ByteBuffer[k];
        for (int i = 0; i < k; i++) {
          Attempt a = data.get(i).getNow(null);
          if (a != null && a.data() == null && !a.absent()) {
            throw new BlockUnavailableException("parity shard " + ref + ": no parity header of"
                + " its stripe readable, and data shard " + i + " is not readable but may be"
                + " stored " + problems);
          }
          shards[i] = a == null ? null : a.data();
        }
        if (java.util.Arrays.stream(shards).allMatch(java.util.Objects::isNull)) {
          throw new BlockUnavailableException("parity shard " + ref + ": no data shard of its"
              + " stripe readable " + problems);
        }
        ByteBuffer[] parity = ParityBlock.encode(StripedWrites.coder(k, m), shards);
        ByteBuffer mine = parity[ref.shardIndex() - k];
        if (h != null && !h.sameStripe(ParityBlock.parse(mine, k, m, ref.toString()))) {
          throw new io.torus.CorruptBlockException("parity shard " + ref + ": its stripe's"
              + " data shards do not match the header of the other parity shards");
        }
        return mine;
      });
    });
  }

  /**
   * What a direct read of a shard gave: its bytes, or none and whether it is known not stored
   * ({@link NotStoredException}), with a copy failing its checksum ({@code corrupt}) or not.
   */
  private record Attempt(ByteBuffer data, boolean notStored, boolean corrupt) {
    Attempt(ByteBuffer data, boolean notStored) {
      this(data, notStored, false);
    }

    /** Known never stored or lost everywhere, with no corrupt copy left as a trace. */
    boolean absent() {
      return data == null && notStored && !corrupt;
    }
  }

  /** A direct read that never fails: what it gave, a problem noted if nothing. */
  private CompletableFuture<Attempt> attempt(BlockRef shard, List<String> problems) {
    return direct.apply(shard).handle((b, e) -> {
      if (e == null) {
        return new Attempt(b, false);
      }
      Throwable t = Futures.unwrap(e);
      problems.add(t.getMessage());
      return t instanceof NotStoredException n ? new Attempt(null, true, n.corrupt())
          : new Attempt(null, false);
    });
  }

  private CompletableFuture<ByteBuffer> degraded(BlockRef ref, String directProblem,
      boolean writeBack) {
    ctx.stripes.degradedReads.increment();
    BlockRef stripe = ref.stripe();
    CompletableFuture<Fetched> mine = new CompletableFuture<>();
    CompletableFuture<Fetched> shared = fetching.putIfAbsent(stripe, mine);
    if (shared == null) {
      shared = mine;
      fetch(ref).whenComplete((f, e) -> {
        fetching.remove(stripe, mine);
        if (e != null) {
          mine.completeExceptionally(Futures.unwrap(e));
        } else {
          mine.complete(f);
        }
      });
    }
    return shared.thenApply(f -> {
      int want = ref.shardIndex();
      String what = stripe + "@" + ref.dataShards() + "+" + ref.parityShards();
      if (f.header() == null) {
        throw new BlockUnavailableException("block " + ref + ": no good copy (" + directProblem
            + ") and no parity shard of stripe " + what + " readable " + f.problems());
      }
      ByteBuffer[] data = f.data().clone();
      data[want] = null;
      ByteBuffer rebuilt;
      try {
        rebuilt = f.header().rebuild(StripedWrites.coder(ref.dataShards(),
            ref.parityShards()), want, data, f.parity(), what);
      } catch (BlockUnavailableException e) {
        throw new BlockUnavailableException("block " + ref + ": " + e.getMessage() + "; "
            + directProblem + "; " + f.problems());
      }
      ctx.stripes.rebuiltShards.increment();
      if (writeBack) {
        repair(ref, rebuilt);
      }
      return rebuilt.asReadOnlyBuffer();
    });
  }

  /** Reads the stripe's parity, then every other data shard its header says exists. */
  private CompletableFuture<Fetched> fetch(BlockRef ref) {
    int k = ref.dataShards();
    int m = ref.parityShards();
    List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<ByteBuffer>> parityReads = new ArrayList<>(m);
    for (int j = 0; j < m; j++) {
      parityReads.add(quiet(ref.shard(k + j), problems));
    }
    return CompletableFuture.allOf(parityReads.toArray(CompletableFuture[]::new))
        .thenCompose(v -> {
          ByteBuffer[] parity = new ByteBuffer[m];
          ParityBlock header = null;
          for (int j = 0; j < m; j++) {
            ByteBuffer p = parityReads.get(j).getNow(null);
            if (p == null) {
              continue;
            }
            try {
              ParityBlock h = ParityBlock.parse(p, k, m, ref.shard(k + j).toString());
              if (h.index() != j || (header != null && !header.sameStripe(h))) {
                problems.add(ref.shard(k + j) + ": header of another stripe");
                continue;
              }
              header = header == null ? h : header;
              parity[j] = p;
            } catch (TorusException e) {
              problems.add(e.getMessage());
            }
          }
          if (header == null) {
            return CompletableFuture.completedFuture(
                new Fetched(null, new ByteBuffer[k], parity, List.copyOf(problems)));
          }
          ParityBlock h = header;
          List<CompletableFuture<ByteBuffer>> dataReads = new ArrayList<>(k);
          for (int i = 0; i < k; i++) {
            dataReads.add(i == ref.shardIndex() || !h.has(i)
                ? CompletableFuture.completedFuture(null) : quiet(ref.shard(i), problems));
          }
          return CompletableFuture.allOf(dataReads.toArray(CompletableFuture[]::new))
              .thenApply(w -> {
                ByteBuffer[] data = new ByteBuffer[k];
                for (int i = 0; i < k; i++) {
                  data[i] = dataReads.get(i).getNow(null);
                }
                return new Fetched(h, data, parity, List.copyOf(problems));
              });
        });
  }

  /** A direct read that never fails: null and a problem noted instead. */
  private CompletableFuture<ByteBuffer> quiet(BlockRef shard, List<String> problems) {
    return direct.apply(shard).handle((b, e) -> {
      if (e != null) {
        problems.add(Futures.unwrap(e).getMessage());
      }
      return e == null ? b : null;
    });
  }

  /** Writes a rebuilt shard back to its own peer, in the background, if that peer is up. */
  private void repair(BlockRef ref, ByteBuffer rebuilt) {
    Ring ring = ctx.view.ring();
    if (ring == null) {
      return;
    }
    String owner = ring.peers(ref, 1).get(0);
    PeerClient c = ctx.view.client(owner);
    if (c == null || ctx.health.suspect(owner)) {
      return;
    }
    ByteBuffer copy = ByteBuffer.allocate(rebuilt.remaining()).put(rebuilt.duplicate()).flip()
        .asReadOnlyBuffer();
    ctx.repairLater(ref, copy, owner, c, "rebuilt shard");
  }
}
