package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.internal.erasure.ParityBlock;
import io.torus.internal.erasure.ReedSolomon;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.StripePlacement;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The put of erasure-coded stripes: encodes the parity of each stripe from its data shards
 * ({@link ParityBlock}) and puts every shard, data and parity, to its own peer
 * ({@link StripePlacement}) as a block of one copy. A data shard's future completes when every
 * shard of its stripe is stored (durable, for a durable put), so a stripe is acknowledged only
 * with its whole redundancy; if any shard fails, every data shard of the stripe fails and the
 * caller writes the blocks again under new refs (the stripe's stored shards become garbage).
 *
 * <p>Encoding runs on the calling thread (about 1 GB/s of data per core for 4+2); nothing
 * here blocks on a peer. Thread-safe: one instance serves a layer.
 */
final class StripedWrites {
  /** Coders by layout: a volume has one, so this stays tiny. */
  private static final ConcurrentHashMap<Integer, ReedSolomon> CODERS =
      new ConcurrentHashMap<>();

  private final LayerContext ctx;

  StripedWrites(LayerContext ctx) {
    this.ctx = ctx;
  }

  /** The coder of a stripe of {@code k + m} shards. */
  static ReedSolomon coder(int k, int m) {
    return CODERS.computeIfAbsent(k << 8 | m, key -> ReedSolomon.of(k, m));
  }

  /**
   * Puts one stripe: the data shards {@code shards} (all of one stripe, at distinct
   * positions); returns one future for all of them.
   *
   * @param track records a stored shard for the next barrier (null for durable puts)
   * @param trackLate records a late copy (null for durable puts)
   */
  CompletableFuture<Void> put(List<BlockLayer.Write> shards, boolean durable,
      BiConsumer<BlockRef, Set<String>> track, BiConsumer<BlockRef, String> trackLate) {
    try {
      BlockRef first = shards.get(0).ref();
      int k = first.dataShards();
      int m = first.parityShards();
      Ring ring = ctx.ring();
      if (!StripePlacement.fits(ring, k + m)) {
        throw new TorusException(ErrorCode.EIO, "erasure-coded " + k + "+" + m + " block "
            + first + " needs a ring of at least " + (k + m) + " peers; it has "
            + ring.members().size(), null, true);
      }
      ByteBuffer[] data = new ByteBuffer[k];
      for (BlockLayer.Write w : shards) {
        int i = w.ref().shardIndex();
        if (!w.ref().stripe().equals(first.stripe()) || data[i] != null) {
          throw TorusException.invalid("shards of a stripe put twice or mixed: " + w.ref());
        }
        data[i] = w.data();
      }
      ByteBuffer[] parity = ParityBlock.encode(coder(k, m), data);
      List<List<String>> orders = orders(ring, first);
      List<CompletableFuture<Void>> puts = new ArrayList<>(shards.size() + m);
      for (BlockLayer.Write w : shards) {
        puts.add(putShard(w.ref(), w.data(), orders.get(w.ref().shardIndex()), durable, track,
            trackLate));
      }
      for (int j = 0; j < m; j++) {
        puts.add(putShard(first.shard(k + j), parity[j], orders.get(k + j), durable, track,
            trackLate));
      }
      return CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
          .handle((v, e) -> {
            if (e == null) {
              return null;
            }
            for (CompletableFuture<Void> p : puts) {
              p.getNow(null); // all done: rethrows the first failure, data shards first
            }
            throw Futures.unwrap(e);
          });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * The peers each shard of the stripe is tried on, in order: its owner, then fallbacks. A
   * shard whose owner is down or failing gets a fallback of its own first (no two shards of
   * the stripe are sent to one fallback while others are free), then the remaining ones.
   */
  private List<List<String>> orders(Ring ring, BlockRef any) {
    List<String> owners = StripePlacement.owners(ring, any);
    List<String> spare = new ArrayList<>(StripePlacement.peers(ring, any,
        1 + DistributedBlockLayer.FALLBACKS));
    spare.remove(0); // the shard's own owner
    List<List<String>> out = new ArrayList<>(owners.size());
    int next = 0;
    for (String owner : owners) {
      List<String> order = new ArrayList<>(1 + spare.size());
      boolean usable = ctx.view.client(owner) != null && !ctx.health.suspect(owner);
      if (!usable && next < spare.size()) {
        order.add(spare.get(next++)); // a fallback of its own, tried first
      }
      order.add(owner);
      for (String p : spare) {
        if (!order.contains(p)) {
          order.add(p);
        }
      }
      out.add(order);
    }
    return out;
  }

  private CompletableFuture<Void> putShard(BlockRef ref, ByteBuffer data, List<String> order,
      boolean durable, BiConsumer<BlockRef, Set<String>> track,
      BiConsumer<BlockRef, String> trackLate) {
    int crc = Crc32c.of(data);
    try {
      return durable
          ? new ReplicatedPut(ctx, ref, data, crc, true, order, (r, p) -> { }, (r, p) -> { })
              .start()
          : new ReplicatedPut(ctx, ref, data, crc, false, order, track, trackLate).start();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
