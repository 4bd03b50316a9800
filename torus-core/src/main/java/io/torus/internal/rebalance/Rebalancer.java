package io.torus.internal.rebalance;

import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.VolumeInfo;
import io.torus.internal.layer.PeerView;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.UnionRing;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.peer.StorePeerService;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One peer's part in keeping every block where the ring wants it: rebalance after ring
 * changes, re-replication after a lost peer, and anti-entropy (copies missed while a replica
 * was down, substitute copies written by the data path). All three are the same
 * <em>pass</em> over the blocks this peer holds, against a target ring: the ring itself, or
 * for a {@link UnionRing} (a transition) its {@code next} ring.
 *
 * <p>For each block held, a pass asks the block's owners under the target ring (its first R
 * peers, R being the volume's replication) whether they hold it (batched HAS requests), then:
 * <ul>
 *   <li>if this peer is an owner and the first owner (in ring order) holding the block, it
 *       copies the block to every owner that is up and lacks it, then asks those owners for
 *       a flush barrier; only an acknowledged barrier counts a copy as made;
 *   <li>if this peer is not an owner and no owner holds the block, it copies it to them the
 *       same way (a substitute copy, or a block whose owners all changed);
 *   <li>if this peer is not an owner and every owner holds the block, it deletes its copy,
 *       but only while the ring is not a transition and the ring version stored in etcd, read
 *       just before, is the one the pass works against. A failure of that read (etcd
 *       unreachable) deletes nothing.
 * </ul>
 *
 * <p><b>Invariants.</b> A copy is deleted only when all R owners of the current, stored,
 * non-transitional ring confirmed, with a verified HAS, that they hold it durably (a flush
 * barrier on the owner covered it) and that it passes its checksum; owners that are down
 * confirm nothing, so a block whose owner is down is kept ("when in doubt, keep"). Copies are made with the repair
 * flag (they restore bytes the ref already names, so a writer's fencing epoch does not apply).
 * A pass is <em>done</em> when it went over every block and nothing is left that this peer
 * could do now (copies owed to down peers are counted as missing, not as undone work); the
 * coordinator retires a transition when every up member reported done for it.
 *
 * <p><b>Concurrency.</b> One worker thread runs passes; a ring change aborts the current pass
 * at the next page and starts one against the new ring. Counters are atomics read by the
 * reporter and metrics threads. Copies go through the shared {@link RateLimiter}.
 *
 * <p><b>Failure.</b> A peer that fails a HAS, put or barrier is treated as down for the rest
 * of the page and makes the pass not done; etcd being unreachable stops the pass (the volume
 * list cannot be read) and it is retried; a restart resumes from the {@link PassCursor} saved
 * after every page.
 */
public final class Rebalancer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Rebalancer.class);
  /** Refs per HAS request and per cursor save. */
  static final int PAGE = 256;
  /** Refs per LIST page when only counting. */
  private static final int COUNT_PAGE = 4096;
  /** Copies to one target in flight at a time (pipelined on its connection). */
  private static final int IN_FLIGHT = 16;

  private final String self;
  private final StorePeerService local;
  private final PeerView view;
  private final Supplier<Map<Long, VolumeInfo>> volumes;
  private final LongSupplier storedRingVersion;
  private final RebalanceStore reports;
  private final Path cursorFile;
  private final RateLimiter limiter;
  private final Duration timeout;
  private final Duration interval;
  private final Thread worker;
  private final Object wake = new Object();
  private volatile boolean closed;

  private volatile long passRing;
  private volatile boolean passDone;
  private final AtomicLong scanned = new AtomicLong();
  private volatile long total;
  private final AtomicLong missing = new AtomicLong();
  private final AtomicLong missingBytes = new AtomicLong();
  private final AtomicLong moved = new AtomicLong();
  private final AtomicLong copies = new AtomicLong();
  private final AtomicLong deleted = new AtomicLong();
  private final AtomicLong passes = new AtomicLong();
  private volatile long rate;
  private long rateAt = System.nanoTime();
  private long rateMoved;

  /**
   * @param self this peer's id
   * @param local this peer's blocks
   * @param view the ring and the live peers
   * @param volumes the volumes by id (read from the metadata service; throws EIO when it
   *     cannot be read)
   * @param storedRingVersion reads the ring version stored in etcd now (throws when it cannot)
   * @param reports where progress reports go
   * @param cursorFile where progress is persisted, or null
   */
  public Rebalancer(String self, StorePeerService local, PeerView view,
      Supplier<Map<Long, VolumeInfo>> volumes, LongSupplier storedRingVersion,
      RebalanceStore reports, Path cursorFile, RebalanceOptions options, Duration timeout) {
    this.self = self;
    this.local = local;
    this.view = view;
    this.volumes = volumes;
    this.storedRingVersion = storedRingVersion;
    this.reports = reports;
    this.cursorFile = cursorFile;
    this.limiter = new RateLimiter(options.rebalanceBytesPerSecond(), System::nanoTime);
    this.timeout = timeout;
    this.interval = options.antiEntropyInterval();
    this.worker = new Thread(this::run, "torus-rebalance");
    worker.setDaemon(true);
    worker.start();
  }

  /** Starts a pass now (a ring change, or an operator asking). */
  public void wake() {
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  private void run() {
    long lastPass = 0;
    while (!closed) {
      Ring ring = view.ring();
      boolean urgent = ring != null && (ring instanceof UnionRing || !passDone
          || ring.version() != passRing);
      if (ring == null || (!urgent && System.nanoTime() - lastPass < interval.toNanos())) {
        pause(ring == null ? 500 : Math.max(50, Math.min(1000, interval.toMillis())));
        continue;
      }
      lastPass = System.nanoTime();
      try {
        boolean done = pass(ring);
        if (!done && !closed) {
          pause(500);
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        passDone = false;
        log.warn("rebalance pass against ring {} stopped (will retry): {}", ring.version(),
            e.toString());
        pause(1000);
      }
    }
  }

  private void pause(long millis) {
    synchronized (wake) {
      try {
        wake.wait(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closed = true;
      }
    }
  }

  /** One pass; returns whether it is done (complete and nothing left to do). */
  private boolean pass(Ring ring) throws InterruptedException {
    Map<Long, VolumeInfo> vols = volumes.get();
    int fallbackR = vols.values().stream().mapToInt(VolumeInfo::replication).max().orElse(1);
    int fallbackSize = vols.values().stream().mapToInt(VolumeInfo::blockSize).max()
        .orElse(4096);
    long maxVolume = vols.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    PassCursor cursor = PassCursor.load(cursorFile).filter(c -> c.ring() == ring.version())
        .orElse(new PassCursor(ring.version(), 1, null, true));
    if (passRing != ring.version()) {
      passRing = ring.version();
      passDone = false;
    }
    total = countHeld(cursor, maxVolume);
    scanned.set(0);
    missing.set(0);
    missingBytes.set(0);
    boolean clean = cursor.clean();
    Ring target = ring instanceof UnionRing u ? u.next() : ring;
    boolean deletes = !(ring instanceof UnionRing);
    // Streams the refs page by page in ref order: memory is bounded by a page, not by the
    // number of blocks this peer holds.
    for (long vol = cursor.volume(); vol <= maxVolume; vol++) {
      VolumeInfo info = vols.get(vol);
      int r = info == null ? fallbackR : info.replication();
      int blockSize = info == null ? fallbackSize : info.blockSize();
      BlockRef after = vol == cursor.volume() ? cursor.after() : null;
      for (boolean more = true; more; ) {
        Ring now = view.ring();
        if (closed || now == null || now.version() != ring.version()) {
          return false; // a new ring: the next pass starts over against it
        }
        ListPage p = local.list(vol, after, PAGE);
        List<BlockRef> page = p.refs();
        more = p.more();
        if (page.isEmpty()) {
          break;
        }
        clean &= page(ring, target, deletes, r, blockSize, page);
        scanned.addAndGet(page.size());
        after = page.get(page.size() - 1);
        new PassCursor(ring.version(), vol, after, clean).save(cursorFile);
      }
    }
    new PassCursor(ring.version(), maxVolume + 1, null, clean).save(cursorFile);
    passes.incrementAndGet();
    passDone = clean;
    // the next pass against the same ring starts from the beginning
    new PassCursor(ring.version(), 1, null, true).save(cursorFile);
    publish();
    log.debug("rebalance pass against ring {} finished: done={}, {} copies owed to down peers",
        ring.version(), clean, missing.get());
    return clean;
  }

  /** How many blocks a pass from {@code cursor} goes over (paged: bounded memory). */
  private long countHeld(PassCursor cursor, long maxVolume) {
    long count = 0;
    for (long vol = cursor.volume(); vol <= maxVolume && !closed; vol++) {
      BlockRef after = vol == cursor.volume() ? cursor.after() : null;
      for (boolean more = true; more; ) {
        ListPage p = local.list(vol, after, COUNT_PAGE);
        count += p.refs().size();
        more = p.more() && !p.refs().isEmpty();
        if (more) {
          after = p.refs().get(p.refs().size() - 1);
        }
      }
    }
    return count;
  }

  /** Handles one page of refs of one volume; returns whether nothing was left undone. */
  private boolean page(Ring ring, Ring target, boolean deletes, int r, int blockSize,
      List<BlockRef> refs) throws InterruptedException {
    Map<BlockRef, List<String>> owners = new LinkedHashMap<>();
    Map<String, List<BlockRef>> ask = new HashMap<>();
    for (BlockRef ref : refs) {
      List<String> o = target.peers(ref, r);
      owners.put(ref, o);
      for (String p : o) {
        if (!p.equals(self)) {
          ask.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
        }
      }
    }
    boolean clean = true;
    Map<String, Set<BlockRef>> holds = new HashMap<>();
    Map<String, CompletableFuture<boolean[]>> sent = new HashMap<>();
    for (Map.Entry<String, List<BlockRef>> e : ask.entrySet()) {
      PeerClient c = view.client(e.getKey());
      if (c != null) {
        sent.put(e.getKey(), c.has(e.getValue(), timeout));
      }
    }
    for (Map.Entry<String, CompletableFuture<boolean[]>> e : sent.entrySet()) {
      try {
        boolean[] has = await(e.getValue());
        List<BlockRef> asked = ask.get(e.getKey());
        Set<BlockRef> yes = new HashSet<>();
        for (int i = 0; i < has.length; i++) {
          if (has[i]) {
            yes.add(asked.get(i));
          }
        }
        holds.put(e.getKey(), yes);
      } catch (RuntimeException ex) {
        clean = false;
        log.debug("HAS to {} failed: {}", e.getKey(), ex.toString());
      }
    }
    Map<String, List<BlockRef>> push = new HashMap<>();
    List<BlockRef> drop = new ArrayList<>();
    for (Map.Entry<BlockRef, List<String>> e : owners.entrySet()) {
      BlockRef ref = e.getKey();
      List<String> o = e.getValue();
      List<String> holders = new ArrayList<>();
      List<String> lacking = new ArrayList<>();
      for (String p : o) {
        Set<BlockRef> h = holds.get(p);
        if (p.equals(self) || (h != null && h.contains(ref))) {
          holders.add(p);
        } else {
          lacking.add(p);
        }
      }
      boolean owner = o.contains(self);
      boolean mine = owner ? holders.get(0).equals(self) : holders.isEmpty();
      if (!owner && lacking.isEmpty()) {
        drop.add(ref);
      }
      if (mine) {
        missing.addAndGet(lacking.size());
        missingBytes.addAndGet((long) lacking.size() * blockSize);
        for (String p : lacking) {
          if (holds.containsKey(p)) {
            push.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
          }
        }
      }
    }
    clean &= copy(push);
    if (deletes && !drop.isEmpty()) {
      List<BlockRef> sure = verified(drop, owners);
      clean &= sure.size() == drop.size(); // the rest is kept and looked at again next pass
      if (!sure.isEmpty()) {
        clean &= drop(ring, sure);
      }
    }
    return clean;
  }

  /**
   * The refs of {@code candidates} every owner confirms with a verified HAS: its copy is
   * durable (covered by a flush barrier on that peer) and passes its checksum. A plain HAS
   * answers from index membership, which a copy lost on the owner's next kill -9 or one that
   * no longer reads also satisfies: never enough to drop the last good copy on.
   */
  private List<BlockRef> verified(List<BlockRef> candidates, Map<BlockRef, List<String>> owners) {
    Map<String, List<BlockRef>> ask = new HashMap<>();
    for (BlockRef ref : candidates) {
      for (String p : owners.get(ref)) {
        ask.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
      }
    }
    Map<BlockRef, Integer> confirmed = new HashMap<>();
    for (Map.Entry<String, List<BlockRef>> e : ask.entrySet()) {
      PeerClient c = view.client(e.getKey());
      if (c == null) {
        continue;
      }
      try {
        boolean[] has = await(c.has(e.getValue(), timeout, true));
        for (int i = 0; i < has.length; i++) {
          if (has[i]) {
            confirmed.merge(e.getValue().get(i), 1, Integer::sum);
          }
        }
      } catch (RuntimeException ex) {
        log.debug("verified HAS to {} failed: {}", e.getKey(), ex.toString());
      }
    }
    List<BlockRef> sure = new ArrayList<>();
    for (BlockRef ref : candidates) {
      if (confirmed.getOrDefault(ref, 0) == owners.get(ref).size()) {
        sure.add(ref);
      }
    }
    return sure;
  }

  /** Copies blocks to peers, then flushes them; returns whether every copy was made. */
  private boolean copy(Map<String, List<BlockRef>> push) throws InterruptedException {
    boolean ok = true;
    for (Map.Entry<String, List<BlockRef>> e : push.entrySet()) {
      PeerClient c = view.client(e.getKey());
      if (c == null) {
        ok = false;
        continue;
      }
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      long bytes = 0;
      int sentCount = 0;
      try {
        for (BlockRef ref : e.getValue()) {
          ByteBuffer data;
          try {
            data = local.get(ref);
          } catch (CorruptBlockException ex) {
            ok = false; // scrub replaces it; another holder may push meanwhile
            continue;
          }
          if (data == null) {
            continue; // deleted meanwhile (garbage collection)
          }
          int len = data.remaining();
          limiter.acquire(len);
          puts.add(c.put(ref, 0, data, crc(data), true, timeout));
          bytes += len;
          sentCount++;
          if (puts.size() >= IN_FLIGHT) {
            await(puts.remove(0));
          }
        }
        for (CompletableFuture<Void> f : puts) {
          await(f);
        }
        await(c.flush(timeout));
        moved.addAndGet(bytes);
        copies.addAndGet(sentCount);
        missing.addAndGet(-sentCount);
        missingBytes.addAndGet(-bytes);
      } catch (RuntimeException ex) {
        ok = false;
        log.info("copies to {} failed (retried by the next pass): {}", e.getKey(),
            ex.toString());
      }
    }
    return ok;
  }

  /** Deletes copies every owner confirmed, if the stored ring is still {@code ring}. */
  private boolean drop(Ring ring, List<BlockRef> refs) {
    long stored;
    try {
      stored = storedRingVersion.getAsLong();
    } catch (RuntimeException e) {
      log.info("not deleting {} moved copies: the stored ring cannot be read ({})",
          refs.size(), e.toString());
      return false;
    }
    if (stored != ring.version()) {
      return false;
    }
    for (BlockRef ref : refs) {
      if (local.delete(ref)) {
        deleted.incrementAndGet();
      }
    }
    local.flush();
    return true;
  }

  /**
   * Waits for a peer answer, at most the request deadline plus a margin: the transport fails
   * requests at their deadline, and this bound keeps a pass moving even if an answer is lost.
   */
  private <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      f.cancel(false);
      throw new io.torus.TorusException(io.torus.ErrorCode.EIO, "no answer within "
          + timeout.plusSeconds(2), null, true);
    } catch (java.util.concurrent.ExecutionException e) {
      throw io.torus.TorusException.of(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new io.torus.TorusException(io.torus.ErrorCode.EIO, "interrupted", e);
    }
  }

  private static int crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return (int) c.getValue();
  }

  /** This peer's progress now. */
  public ReplicationReport report(Scrubber scrubber) {
    long now = System.nanoTime();
    synchronized (this) {
      long dt = now - rateAt;
      if (dt > TimeUnit.SECONDS.toNanos(1)) {
        long m = moved.get();
        long instant = (long) ((m - rateMoved) * 1e9 / dt);
        rate = (rate + instant) / 2;
        rateMoved = m;
        rateAt = now;
      }
    }
    long s = scanned.get();
    long t = total;
    long toMove = missingBytes.get();
    if (s > 0 && t > s) {
      toMove += (long) ((double) toMove / s * (t - s));
    }
    return new ReplicationReport(self, passRing, passDone, s, t, Math.max(0, missing.get()),
        Math.max(0, toMove), moved.get(), rate,
        scrubber == null ? 0 : scrubber.scrubbed(), scrubber == null ? 0 : scrubber.corrupt(),
        scrubber == null ? 0 : scrubber.repaired(), Instant.now());
  }

  private volatile Scrubber scrubber;

  /** The scrubber whose counts go into this peer's reports. */
  public void attach(Scrubber s) {
    this.scrubber = s;
  }

  /** Publishes this peer's report (best effort: failures are logged). */
  public void publish() {
    try {
      reports.publish(report(scrubber));
    } catch (RuntimeException e) {
      log.debug("could not publish the replication report: {}", e.toString());
    }
  }

  /** Bytes copied to other peers since start. */
  public long bytesMoved() {
    return moved.get();
  }

  /** Copies made since start. */
  public long copiesMade() {
    return copies.get();
  }

  /** Copies deleted (moved away) since start. */
  public long copiesDeleted() {
    return deleted.get();
  }

  /** Complete passes since start. */
  public long passes() {
    return passes.get();
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
