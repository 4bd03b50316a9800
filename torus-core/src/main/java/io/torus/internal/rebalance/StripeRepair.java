package io.torus.internal.rebalance;

import io.torus.internal.erasure.ParityBlock;
import io.torus.internal.layer.PeerView;
import io.torus.internal.peer.StorePeerService;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.StripePlacement;
import io.torus.internal.transport.PeerClient;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rebalancer's check of erasure-coded stripes: a shard whose only copy was on a lost
 * peer is listed by no peer, so moving copies never brings it back; it is rebuilt from the
 * stripe's other shards instead. For each stripe with a shard on this peer, the owners of
 * all its shards (under the target ring) are asked whether they hold theirs; the peer holding
 * the lowest-numbered shard that is still held leads the stripe (so one peer, not k+m, does
 * the work), and it rebuilds each missing shard (a data shard decoded, a parity shard encoded
 * anew, through {@code rebuild}) and stores it on the shard's owner (a put and a barrier
 * there), counting it as copied in the progress report. Only an owner that answered gets a
 * rebuilt shard: one down when asked (a peer restarting, not yet seen up) may hold it, and is
 * asked again by the next pass.
 *
 * <p>Which positions of a stripe hold data comes from a parity shard's header (a position
 * written with no block is absent, not missing); it is read only for a stripe with a shard
 * not held.
 *
 * <p>Owners are asked for index membership, not for verified copies: the check runs on every
 * anti-entropy pass of every peer, and each stripe is asked about by each of its peers, so a
 * verified question would read every stored shard {@code k + m - 1} times per pass, outside
 * any rate limit. A shard that is held but fails its checksum is the scrubber's to find (at
 * its bounded rate) and to replace from its stripe. Nothing is deleted on these answers: a
 * wrong "held" only leaves a rebuild to a later pass.
 *
 * <p>Runs on the rebalancer's thread; blocks.
 */
final class StripeRepair {
  private static final Logger log = LoggerFactory.getLogger(Rebalancer.class);

  private final String self;
  private final PeerView view;
  private final ReplicaCopier copier;
  private final StorePeerService local;
  private final Function<BlockRef, CompletableFuture<ByteBuffer>> read;
  private final BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> rebuild;
  private final Duration timeout;

  /**
   * @param read a shard's stored bytes, from whichever peer has them (a layer's get)
   * @param rebuild a shard's bytes rebuilt from its stripe, given the stripe's data positions
   *     for a parity shard (see {@code DistributedBlockLayer.rebuildShard})
   */
  StripeRepair(String self, StorePeerService local, PeerView view, ReplicaCopier copier,
      Function<BlockRef, CompletableFuture<ByteBuffer>> read,
      BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> rebuild, Duration timeout) {
    this.self = self;
    this.local = local;
    this.view = view;
    this.copier = copier;
    this.read = read;
    this.rebuild = rebuild;
    this.timeout = timeout;
  }

  /** What a check of one page did. */
  record Result(int missing, int rebuilt, long bytes, int failed, boolean clean) {}

  /**
   * Checks the stripes of the striped refs in {@code held} (refs this peer holds), rebuilding
   * the missing shards of the stripes it leads.
   */
  Result check(Ring target, List<BlockRef> held) throws InterruptedException {
    Map<BlockRef, List<BlockRef>> stripes = new LinkedHashMap<>();
    for (BlockRef r : held) {
      if (r.striped()) {
        stripes.computeIfAbsent(r.stripe(), s -> new ArrayList<>()).add(r);
      }
    }
    if (stripes.isEmpty()) {
      return new Result(0, 0, 0, 0, true);
    }
    // one HAS per owner for every shard of every stripe
    Map<String, List<BlockRef>> ask = new HashMap<>();
    Map<BlockRef, List<String>> owners = new HashMap<>();
    stripes.forEach((s, mine) -> {
      List<String> o = StripePlacement.owners(target, mine.get(0));
      owners.put(s, o);
      for (int i = 0; i < o.size(); i++) {
        if (!o.get(i).equals(self)) {
          ask.computeIfAbsent(o.get(i), p -> new ArrayList<>()).add(mine.get(0).shard(i));
        }
      }
    });
    Set<BlockRef> held0 = new java.util.HashSet<>(held);
    Set<BlockRef> present = new java.util.HashSet<>(held0);
    boolean clean = true;
    Set<String> unanswered = new java.util.HashSet<>();
    Set<String> down = new java.util.HashSet<>();
    for (Map.Entry<String, List<BlockRef>> e : ask.entrySet()) {
      PeerClient c = view.client(e.getKey());
      if (c == null) {
        down.add(e.getKey()); // its shards count as missing, owed to it
        continue;
      }
      try {
        boolean[] has = ReplicaCopier.await(c.has(e.getValue(), timeout, false), timeout);
        for (int i = 0; i < has.length; i++) {
          if (has[i]) {
            present.add(e.getValue().get(i));
          }
        }
      } catch (RuntimeException ex) {
        unanswered.add(e.getKey());
        clean = false;
      }
    }
    int found = 0;
    int rebuilt = 0;
    long bytes = 0;
    int failed = 0;
    for (Map.Entry<BlockRef, List<BlockRef>> e : stripes.entrySet()) {
      BlockRef any = e.getValue().get(0);
      List<String> o = owners.get(e.getKey());
      int width = any.dataShards() + any.parityShards();
      int lead = -1;
      for (int i = 0; i < width && lead < 0; i++) {
        lead = present.contains(any.shard(i)) ? i : -1;
      }
      if (lead < 0 || !held0.contains(any.shard(lead))) {
        continue; // another peer leads this stripe
      }
      if (o.stream().anyMatch(p -> unanswered.contains(p)
          || (!p.equals(self) && view.client(p) == null))) {
        clean = false; // an owner is down or did not answer: not known what is missing
        continue;
      }
      int[] mask = new int[1];
      for (int i : missing(any, present, mask)) {
        found++;
        BlockRef shard = any.shard(i);
        String owner = o.get(i);
        PeerClient c = owner.equals(self) ? null : view.client(owner);
        if (!owner.equals(self) && (c == null || down.contains(owner))) {
          // the owner is down, or was when asked (it may hold the shard, back up since):
          // rebuilt, if it lacks it, by a pass that asks it
          clean = false;
          continue;
        }
        try {
          ByteBuffer b = ReplicaCopier.await(rebuild.apply(shard, mask[0]),
              timeout.multipliedBy(4));
          ReplicaCopier.Target to = owner.equals(self) ? ReplicaCopier.storeTarget(self, local)
              : ReplicaCopier.peerTarget(owner, c, 0, true, timeout);
          copier.copy(shard, b, to);
          rebuilt++;
          bytes += b.remaining();
          log.info("rebuilt shard {} of a stripe onto its peer {}", shard, owner);
        } catch (RuntimeException ex) {
          failed++;
          clean = false;
          log.warn("could not rebuild shard {} for peer {}: {}", shard, owner, ex.toString());
        }
      }
    }
    return new Result(found, rebuilt, bytes, failed, clean);
  }

  /**
   * The positions of a stripe that should hold a shard and do not: every parity position
   * not present, and every data position a parity header lists that is not present (with no
   * header readable, only the parity positions). Sets {@code mask[0]} to the data positions
   * the header lists, or -1 with no header.
   */
  private List<Integer> missing(BlockRef any, Set<BlockRef> present, int[] mask) {
    int k = any.dataShards();
    int m = any.parityShards();
    if (IntStream.range(0, k + m).allMatch(i -> present.contains(any.shard(i)))) {
      return List.of(); // every position held: no header to read
    }
    ParityBlock header = null;
    for (int j = 0; j < m && header == null; j++) {
      BlockRef p = any.shard(k + j);
      if (present.contains(p)) {
        try {
          header = ParityBlock.parse(ReplicaCopier.await(read.apply(p), timeout), k, m,
              p.toString());
        } catch (RuntimeException e) {
          log.debug("parity {} unreadable for the stripe check: {}", p, e.toString());
        }
      }
    }
    // With no header readable (every parity shard missing here) the data positions are not
    // known: only the parity is rebuilt, by the layer, which encodes it only from data shards
    // known stored or known absent (never from one merely unreachable or still being put).
    mask[0] = header != null ? header.present() : -1;
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < k + m; i++) {
      BlockRef s = any.shard(i);
      boolean should = s.kind() == BlockKind.PARITY || (header != null && header.has(i));
      if (should && !present.contains(s)) {
        out.add(i);
      }
    }
    return out;
  }
}
