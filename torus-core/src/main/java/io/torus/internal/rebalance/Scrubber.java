package io.torus.internal.rebalance;

import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.VolumeInfo;
import io.torus.internal.layer.DistributedBlockLayer;
import io.torus.internal.layer.PeerView;
import io.torus.internal.replica.RateLimiter;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.peer.StorePeerService;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import io.torus.internal.erasure.ParityBlock;
import java.util.function.BiFunction;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads every block this peer holds, at a bounded rate, and replaces copies that fail
 * their CRC32C (the store verifies it on every read) with a good copy from another peer.
 *
 * <p>A round walks volumes and refs in order; its position is saved in a {@link PassCursor}
 * after every block batch, so a restarted peer resumes the round. Rounds are separated by the
 * scrub interval.
 *
 * <p><b>Invariants.</b> A bad copy is replaced only by bytes read from another peer and
 * verified against the checksum in transit, through the {@link ReplicaCopier} step (repair
 * put beside the bad copy, then a flush of the local stores); a block with no good copy
 * anywhere is counted as unrepairable and left as it is (the bad copy is never deleted: it is
 * still evidence).
 *
 * <p><b>Concurrency.</b> One thread; counters are atomics.
 *
 * <p><b>Failure.</b> Metadata unreachable: the round waits and retries. A peer that fails is
 * skipped for that block; the block is counted corrupt and retried next round.
 */
public final class Scrubber implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scrubber.class);
  private static final int BATCH = 64;

  private final String self;
  private final StorePeerService local;
  private final PeerView view;
  private final Supplier<Map<Long, VolumeInfo>> volumes;
  private final Path cursorFile;
  private final RateLimiter limiter;
  private final Duration interval;
  private final Duration timeout;
  private final ReplicaCopier copier;
  private final Thread worker;
  private volatile boolean closed;
  private final AtomicLong scrubbed = new AtomicLong();
  private final AtomicLong corrupt = new AtomicLong();
  private final AtomicLong repaired = new AtomicLong();
  private final AtomicLong unrepairable = new AtomicLong();
  private final AtomicLong rounds = new AtomicLong();
  private final AtomicLong inconsistent = new AtomicLong();
  /** Rebuilds a shard from its stripe, once attached (erasure-coded volumes). */
  private volatile BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> rebuild;

  /**
   * @param cursorFile where the round's position is saved, or null
   */
  public Scrubber(String self, StorePeerService local, PeerView view,
      Supplier<Map<Long, VolumeInfo>> volumes, Path cursorFile, RebalanceOptions options,
      Duration timeout) {
    this.self = self;
    this.local = local;
    this.view = view;
    this.volumes = volumes;
    this.cursorFile = cursorFile;
    this.limiter = new RateLimiter(options.scrubBytesPerSecond(), System::nanoTime);
    this.interval = options.scrubInterval();
    this.timeout = timeout;
    this.copier = new ReplicaCopier(limiter, 1, timeout);
    this.worker = new Thread(this::run, "torus-scrub");
    worker.setDaemon(true);
    worker.start();
  }

  private void run() {
    while (!closed) {
      try {
        round();
        rounds.incrementAndGet();
        Thread.sleep(Math.max(10, interval.toMillis()));
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("scrub round stopped (will retry): {}", e.toString());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void round() throws InterruptedException {
    Map<Long, VolumeInfo> vols = volumes.get();
    long maxVolume = vols.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    PassCursor cursor = PassCursor.load(cursorFile).orElse(new PassCursor(0, 1, null, true));
    for (long vol = cursor.volume(); vol <= maxVolume && !closed; vol++) {
      VolumeInfo info = vols.get(vol);
      int r = info == null ? 1 : info.replication();
      BlockRef after = vol == cursor.volume() ? cursor.after() : null;
      for (boolean more = true; more && !closed; ) { // a batch in memory at a time
        var page = local.list(vol, after, BATCH);
        List<BlockRef> refs = page.refs();
        more = page.more() && !refs.isEmpty();
        for (int i = 0; i < refs.size() && !closed; i++) {
          verify(refs.get(i), r);
          after = refs.get(i);
        }
        if (after != null) {
          new PassCursor(0, vol, after, true).save(cursorFile);
        }
      }
    }
    if (!closed) {
      new PassCursor(0, 1, null, true).save(cursorFile);
    }
  }

  /**
   * Turns on the scrub of erasure-coded shards: a corrupt shard is replaced by one rebuilt
   * from its stripe, and the first parity shard of each stripe is compared with the parity
   * encoded anew from the stripe's data shards.
   */
  public void attachStripes(
      BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> rebuild) {
    this.rebuild = rebuild;
  }

  private void verify(BlockRef ref, int r) throws InterruptedException {
    ByteBuffer b;
    try {
      b = local.get(ref);
      scrubbed.incrementAndGet();
      limiter.acquire(b == null ? 0 : b.remaining());
      if (b != null && ref.striped() && ref.shardIndex() == ref.dataShards()) {
        checkParity(ref, b);
      }
      return;
    } catch (CorruptBlockException e) {
      scrubbed.incrementAndGet();
      corrupt.incrementAndGet();
      log.warn("scrub: copy of {} on {} is corrupt: {}", ref, self, e.getMessage());
    }
    if (repair(ref, r)) {
      repaired.incrementAndGet();
    } else {
      unrepairable.incrementAndGet();
    }
  }

  /**
   * Compares a stripe's first parity shard with the parity its data shards encode to. A
   * mismatch while every shard passes its checksum is reported (ERROR, counted), not
   * repaired: nothing says which shard is wrong.
   */
  private void checkParity(BlockRef ref, ByteBuffer stored) throws InterruptedException {
    BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> f = rebuild;
    if (f == null) {
      return;
    }
    ByteBuffer expected;
    try {
      int present = ParityBlock.parse(stored, ref.dataShards(), ref.parityShards(),
          ref.toString()).present();
      expected = ReplicaCopier.await(f.apply(ref, present), timeout.multipliedBy(4));
    } catch (io.torus.CorruptBlockException e) {
      inconsistent.incrementAndGet();
      log.error("scrub: parity shard {} on {} passes its checksum but its header is not valid:"
          + " {}", ref, self, e.getMessage());
      return;
    } catch (RuntimeException e) {
      // a data shard of the stripe not readable now: nothing to compare with, not a mismatch
      log.debug("scrub: parity check of {} skipped: {}", ref, e.toString());
      return;
    }
    limiter.acquire((long) expected.remaining() * ref.dataShards());
    if (!expected.equals(stored)) {
      inconsistent.incrementAndGet();
      log.error("scrub: parity shard {} on {} does not match its stripe's data shards"
          + " (every shard passes its checksum); the stripe's shards are kept as they are",
          ref, self);
    }
  }

  private boolean repair(BlockRef ref, int r) throws InterruptedException {
    Ring ring = view.ring();
    if (ring == null) {
      return false;
    }
    BiFunction<BlockRef, Integer, CompletableFuture<ByteBuffer>> f = rebuild;
    if (ref.striped() && f != null) {
      try {
        // a corrupt parity copy's header is not trusted: another parity shard's says
        ByteBuffer rebuilt = ReplicaCopier.await(f.apply(ref, -1), timeout.multipliedBy(4));
        copier.copy(ref, rebuilt, ReplicaCopier.storeTarget(self, local));
        log.info("scrub: replaced the corrupt shard {} on {} with one rebuilt from its"
            + " stripe", ref, self);
        return true;
      } catch (RuntimeException e) {
        log.error("scrub: the corrupt shard {} on {} could not be rebuilt from its stripe;"
            + " the bad copy is kept: {}", ref, self, e.toString());
        return false;
      }
    }
    List<ReplicaCopier.Source> holders = new ArrayList<>();
    for (String p : ring.readPeers(ref, (ref.striped() ? 1 : r)
        + DistributedBlockLayer.FALLBACKS)) {
      PeerClient c = p.equals(self) ? null : view.client(p);
      if (c != null) {
        holders.add(ReplicaCopier.peerSource(p, c, timeout));
      }
    }
    String from = copier.copy(ref, holders, ReplicaCopier.storeTarget(self, local));
    if (from != null) {
      log.info("scrub: replaced the corrupt copy of {} on {} with the copy of {}", ref, self,
          from);
      return true;
    }
    log.error("scrub: no good copy of {} found on any peer; the bad copy is kept", ref);
    return false;
  }

  /** Blocks verified since start. */
  public long scrubbed() {
    return scrubbed.get();
  }

  /** Copies found corrupt since start. */
  public long corrupt() {
    return corrupt.get();
  }

  /** Corrupt copies replaced since start. */
  public long repaired() {
    return repaired.get();
  }

  /** Corrupt copies with no good copy found (yet). */
  public long unrepairable() {
    return unrepairable.get();
  }

  /** Stripes whose parity did not match their data shards, since start. */
  public long inconsistentStripes() {
    return inconsistent.get();
  }

  /** Complete rounds since start. */
  public long rounds() {
    return rounds.get();
  }

  @Override
  public void close() {
    closed = true;
    worker.interrupt();
    try {
      worker.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
