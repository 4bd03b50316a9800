package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.JournalRecord;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.StaleEpochException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@link FlushJournal} over the peer protocol ({@code JOURNAL_APPEND}, {@code JOURNAL_FENCE}).
 * The set of a new journal is the ring's replicas of a key per volume, skipping peers that are
 * down or suspect. Thread-safe.
 */
final class PeerJournal implements FlushJournal {
  private final LayerContext ctx;

  PeerJournal(LayerContext ctx) {
    this.ctx = ctx;
  }

  /** The ring key a volume's journal set is placed by. */
  static BlockRef key(long volumeId) {
    return new BlockRef(volumeId, 1, 0, BlockKind.MAP);
  }

  @Override
  public List<String> choose(long volumeId, int copies) {
    Ring ring = ctx.view.ring();
    if (ring == null || copies < 1) {
      return List.of();
    }
    List<String> out = new ArrayList<>(copies);
    for (String p : ring.peers(key(volumeId), copies + DistributedBlockLayer.FALLBACKS)) {
      if (ctx.view.client(p) != null && !ctx.health.suspect(p)) {
        out.add(p);
        if (out.size() == copies) {
          return List.copyOf(out);
        }
      }
    }
    return List.of();
  }

  @Override
  public CompletableFuture<Void> append(List<String> peers, long volumeId, long epoch,
      long generation, long checkpoint, byte[] entry) {
    List<CompletableFuture<Void>> sent = new ArrayList<>(peers.size());
    for (String p : peers) {
      PeerClient c = ctx.view.client(p);
      CompletableFuture<Void> f;
      if (c == null) {
        f = CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO, "peer " + p
            + " of the flush journal of volume " + volumeId + " is down", null, true));
      } else {
        try {
          f = c.journalAppend(volumeId, epoch, generation, checkpoint, ByteBuffer.wrap(entry),
              ctx.timeout);
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
      }
      sent.add(f.whenComplete((v, e) -> {
        if (e == null) {
          ctx.health.succeeded(p);
        } else if (!(Futures.unwrap(e) instanceof StaleEpochException)) {
          ctx.health.failed(p);
        }
      }));
    }
    return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).handle((v, e) -> {
      if (e == null) {
        return null;
      }
      // a refused epoch decides: this writer is stale, whatever else failed
      for (CompletableFuture<Void> f : sent) {
        Throwable t = f.handle((x, err) -> err).join();
        if (t != null && Futures.unwrap(t) instanceof StaleEpochException) {
          throw new CompletionException(Futures.unwrap(t));
        }
      }
      throw new CompletionException(Futures.unwrap(e));
    });
  }

  /** Refs one HAS request carries at most. */
  private static final int HAS_BATCH = 4096;

  @Override
  public Map<BlockRef, Presence> locate(Collection<BlockRef> refs) {
    Ring ring = ctx.ring();
    Map<String, List<BlockRef>> byPeer = new HashMap<>();
    // A shard's one copy failing its checksum is still recoverable from its stripe (a read
    // rebuilds it): shards are asked for presence, not for a verified copy.
    Map<String, List<BlockRef>> shardsByPeer = new HashMap<>();
    Map<BlockRef, Integer> askedOf = new HashMap<>();
    for (BlockRef r : refs) {
      if (askedOf.containsKey(r)) {
        continue;
      }
      List<String> candidates = ctx.candidates(ring, r);
      askedOf.put(r, candidates.size());
      for (String p : candidates) {
        (r.striped() ? shardsByPeer : byPeer).computeIfAbsent(p, k -> new ArrayList<>()).add(r);
      }
    }
    record Ask(List<BlockRef> refs, CompletableFuture<boolean[]> answer) {}
    List<Ask> asks = new ArrayList<>();
    for (boolean verify : new boolean[] {true, false}) {
      (verify ? byPeer : shardsByPeer).forEach((p, list) -> {
        PeerClient c = ctx.view.client(p);
        for (int i = 0; i < list.size(); i += HAS_BATCH) {
          List<BlockRef> batch = list.subList(i, Math.min(list.size(), i + HAS_BATCH));
          CompletableFuture<boolean[]> f;
          if (c == null) {
            f = CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO, p + " down"));
          } else {
            try {
              f = c.has(batch, ctx.timeout, verify);
            } catch (RuntimeException e) {
              f = CompletableFuture.failedFuture(e);
            }
          }
          asks.add(new Ask(batch, f));
        }
      });
    }
    Set<BlockRef> present = new HashSet<>();
    Map<BlockRef, Integer> answered = new HashMap<>();
    for (Ask a : asks) {
      boolean[] got;
      try {
        got = a.answer().join();
      } catch (RuntimeException e) {
        continue; // its refs stay unanswered by this peer
      }
      for (int i = 0; i < got.length; i++) {
        answered.merge(a.refs().get(i), 1, Integer::sum);
        if (got[i]) {
          present.add(a.refs().get(i));
        }
      }
    }
    Map<BlockRef, Presence> out = new HashMap<>();
    askedOf.forEach((r, n) -> out.put(r, present.contains(r) ? Presence.PRESENT
        : answered.getOrDefault(r, 0) >= n ? Presence.ABSENT : Presence.UNKNOWN));
    return out;
  }

  @Override
  public NavigableMap<Long, byte[]> recover(List<String> peers, long volumeId, long epoch,
      long after) {
    List<CompletableFuture<List<JournalRecord>>> asked = new ArrayList<>(peers.size());
    for (String p : peers) {
      PeerClient c = ctx.view.client(p);
      CompletableFuture<List<JournalRecord>> f;
      if (c == null) {
        f = CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO, "peer " + p
            + " is down"));
      } else {
        try {
          f = c.journalFence(volumeId, epoch, after, ctx.timeout);
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
      }
      asked.add(f);
    }
    TreeMap<Long, byte[]> out = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int answered = 0;
    for (int i = 0; i < asked.size(); i++) {
      List<JournalRecord> got;
      try {
        got = asked.get(i).join();
      } catch (RuntimeException e) {
        Throwable t = Futures.unwrap(e);
        if (t instanceof StaleEpochException) {
          throw (StaleEpochException) t;
        }
        failures.add(peers.get(i) + ": " + t.getMessage());
        continue;
      }
      answered++;
      for (JournalRecord r : got) {
        byte[] prior = out.putIfAbsent(r.generation(), r.entry());
        if (prior != null && !Arrays.equals(prior, r.entry())) {
          throw new TorusException(ErrorCode.EIO, "the flush journal of volume " + volumeId
              + " holds two different entries of generation " + r.generation()
              + " (peer " + peers.get(i) + ")");
        }
      }
    }
    if (answered == 0) {
      throw new TorusException(ErrorCode.EIO, "cannot read the flush journal of volume "
          + volumeId + " from any of its peers " + peers + "; its last flushes may be only "
          + "there, so the volume cannot be opened for writing until one of them is back: "
          + String.join("; ", failures), null, true);
    }
    return out;
  }
}
