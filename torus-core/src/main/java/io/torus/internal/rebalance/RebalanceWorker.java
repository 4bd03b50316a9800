package io.torus.internal.rebalance;

import io.torus.VolumeInfo;
import io.torus.internal.layer.PeerView;
import io.torus.internal.replica.ReplicaCopier;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.UnionRing;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockRef;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rebalancer's thread: runs passes over the blocks this peer holds, page by page in ref
 * order (memory is bounded by a page), asks the owners the {@link ReplicaPlanner}'s
 * questions, and carries out its plan: copies through the {@link ReplicaCopier} step, deletes
 * only what the planner allows and only while the ring version stored in etcd, read just
 * before, is the pass's. Progress goes to {@link RebalanceProgress} after every page.
 *
 * <p><b>Concurrency.</b> One thread; {@link #wake} and {@link #close} may be called from any
 * thread. A ring change aborts the current pass at the next page and starts one against the
 * new ring.
 *
 * <p><b>Failure.</b> A peer that fails a HAS, put or barrier is treated as down for the rest
 * of the page and makes the pass not done; a failure of the stored-ring read (etcd
 * unreachable) deletes nothing; the volume list not being readable stops the pass, which is
 * retried. Every step is idempotent, so a pass may stop anywhere.
 */
final class RebalanceWorker {
  /** Logs under the rebalancer's name, as operators configure it. */
  private static final Logger log = LoggerFactory.getLogger(Rebalancer.class);
  /** Refs per LIST page when only counting. */
  private static final int COUNT_PAGE = 4096;

  private final String self;
  private final StorePeerService local;
  private final PeerView view;
  private final Supplier<Map<Long, VolumeInfo>> volumes;
  private final LongSupplier storedRingVersion;
  private final RebalanceProgress progress;
  private final ReplicaCopier copier;
  private final Duration timeout;
  private final Duration interval;
  private final Thread thread;
  private final Object wake = new Object();
  private volatile boolean closed;
  private volatile boolean woken;
  /** System.nanoTime() before which no pass starts (0: none). */
  private volatile long notBefore;
  /** The check of erasure-coded stripes, once attached. */
  private volatile StripeRepair stripes;

  RebalanceWorker(String self, StorePeerService local, PeerView view,
      Supplier<Map<Long, VolumeInfo>> volumes, LongSupplier storedRingVersion,
      RebalanceProgress progress, ReplicaCopier copier, Duration interval) {
    this.self = self;
    this.local = local;
    this.view = view;
    this.volumes = volumes;
    this.storedRingVersion = storedRingVersion;
    this.progress = progress;
    this.copier = copier;
    this.timeout = copier.deadline();
    this.interval = interval;
    this.thread = new Thread(this::run, "torus-rebalance");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Turns on the rebuild of lost shards of erasure-coded stripes. */
  void attach(StripeRepair repair) {
    this.stripes = repair;
  }

  /** Starts a pass now, and forgets the back-off of passes left undone. */
  void wake() {
    woken = true;
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  /**
   * Starts a pass within {@code spreadMillis}, at a random point of it: after a ring change
   * every peer starts a pass, and spreading them keeps hundreds of peers from listing the
   * volumes and asking one another at the same moment (which also delays the ring reaching
   * the peers that see it last).
   */
  void wakeWithin(long spreadMillis) {
    notBefore = spreadMillis <= 0 ? 0
        : System.nanoTime() + java.util.concurrent.ThreadLocalRandom.current()
            .nextLong(spreadMillis * 1_000_000L);
    wake();
  }

  /**
   * The pause after the {@code misses}-th pass in a row that left something undone: 0.5 s,
   * doubling, at most the anti-entropy interval and 30 s. A peer owing copies to a peer that
   * is down thus reads the metadata a few times a minute, not twice a second; a new ring or a
   * peer coming up ({@link #wake}) ends the pause.
   */
  static long retryPause(int misses, Duration interval) {
    long cap = Math.max(RETRY_FIRST_MS, Math.min(interval.toMillis(), RETRY_MAX_MS));
    return Math.min(cap, RETRY_FIRST_MS << Math.min(misses - 1, 10));
  }

  void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    long lastPass = 0;
    int misses = 0; // passes in a row left undone against one ring
    while (!closed) {
      if (woken) {
        woken = false;
        misses = 0;
      }
      Ring ring = view.ring();
      boolean urgent = ring != null && (ring instanceof UnionRing || !progress.done()
          || ring.version() != progress.ring());
      if (ring == null || (!urgent && System.nanoTime() - lastPass < interval.toNanos())) {
        pause(ring == null ? 500 : Math.max(50, Math.min(1000, interval.toMillis())));
        continue;
      }
      long wait = notBefore - System.nanoTime();
      if (notBefore != 0 && wait > 0) {
        pause(Math.max(1, wait / 1_000_000));
        continue;
      }
      notBefore = 0;
      lastPass = System.nanoTime();
      try {
        boolean done = pass(ring);
        Ring now = view.ring();
        if (done || now == null || now.version() != ring.version()) {
          misses = 0;
        } else if (!closed) {
          pause(retryPause(++misses, interval));
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        progress.stopped();
        long pause = retryPause(++misses, interval);
        log.warn("rebalance pass against ring {} stopped (retrying in {} ms): {}",
            ring.version(), pause, e.toString());
        pause(pause);
      }
    }
  }

  private static final long RETRY_FIRST_MS = 500;
  private static final long RETRY_MAX_MS = 30_000;

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
    PassCursor cursor = progress.resume(ring.version());
    progress.begin(ring.version(), countHeld(cursor, maxVolume));
    boolean clean = cursor.clean();
    ReplicaPlanner planner = new ReplicaPlanner(self, ring);
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
        ListPage p = local.list(vol, after, Rebalancer.PAGE);
        List<BlockRef> page = p.refs();
        more = p.more();
        if (page.isEmpty()) {
          break;
        }
        clean &= page(planner, r, blockSize, page);
        after = page.get(page.size() - 1);
        progress.page(new PassCursor(ring.version(), vol, after, clean), page.size());
      }
    }
    progress.finish(new PassCursor(ring.version(), maxVolume + 1, null, clean), clean);
    log.debug("rebalance pass against ring {} finished: done={}, {} copies owed to down peers",
        ring.version(), clean, progress.missing());
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
  private boolean page(ReplicaPlanner planner, int r, int blockSize, List<BlockRef> refs)
      throws InterruptedException {
    Map<BlockRef, List<String>> owners = planner.owners(refs, r);
    Map<String, Set<BlockRef>> holds = new HashMap<>();
    boolean clean = ask(planner.questions(owners), false, holds);
    ReplicaPlanner.Plan plan = planner.plan(owners, holds);
    progress.missing(plan.missing(), (long) plan.missing() * blockSize);
    clean &= push(plan.push());
    if (!plan.candidates().isEmpty()) {
      Map<String, Set<BlockRef>> verified = new HashMap<>();
      ask(planner.verifyQuestions(plan.candidates(), owners), true, verified);
      List<BlockRef> sure = planner.droppable(plan.candidates(), owners, verified);
      clean &= sure.size() == plan.candidates().size(); // the rest is looked at next pass
      if (!sure.isEmpty()) {
        clean &= drop(planner.ring(), sure);
      }
    }
    StripeRepair s = stripes;
    if (s != null && planner.deletes()) { // during a transition shards are still moving
      StripeRepair.Result done = s.check(planner.target(), refs);
      progress.rebuilt(done.rebuilt(), done.bytes());
      int left = done.missing() - done.rebuilt(); // shards still to rebuild: bytes to repair
      progress.missing(left, (long) left * blockSize);
      clean &= done.clean();
    }
    return clean;
  }

  /**
   * Sends HAS questions (verified ones with {@code verify}) to every peer that is up, in
   * parallel, and puts each answer into {@code answers}; returns whether every request sent
   * was answered (a peer that is down is not asked and does not count).
   */
  private boolean ask(Map<String, List<BlockRef>> questions, boolean verify,
      Map<String, Set<BlockRef>> answers) {
    Map<String, CompletableFuture<boolean[]>> sent = new HashMap<>();
    questions.forEach((peer, refs) -> {
      PeerClient c = view.client(peer);
      if (c != null) {
        sent.put(peer, c.has(refs, timeout, verify));
      }
    });
    boolean all = true;
    for (Map.Entry<String, CompletableFuture<boolean[]>> e : sent.entrySet()) {
      try {
        boolean[] has = ReplicaCopier.await(e.getValue(), timeout);
        List<BlockRef> asked = questions.get(e.getKey());
        Set<BlockRef> yes = new HashSet<>();
        for (int i = 0; i < has.length; i++) {
          if (has[i]) {
            yes.add(asked.get(i));
          }
        }
        answers.put(e.getKey(), yes);
      } catch (RuntimeException ex) {
        all = false;
        log.debug("{}HAS to {} failed: {}", verify ? "verified " : "", e.getKey(),
            ex.toString());
      }
    }
    return all;
  }

  /** Copies blocks to peers (put, then a barrier); returns whether every copy was made. */
  private boolean push(Map<String, List<BlockRef>> push) throws InterruptedException {
    boolean ok = true;
    ReplicaCopier.Source from = ReplicaCopier.storeSource(self, local);
    for (Map.Entry<String, List<BlockRef>> e : push.entrySet()) {
      PeerClient c = view.client(e.getKey());
      if (c == null) {
        ok = false;
        continue;
      }
      try {
        ReplicaCopier.Batch b = copier.copy(from,
            ReplicaCopier.peerTarget(e.getKey(), c, 0, true, timeout), e.getValue());
        progress.copied(b.copied(), b.bytes());
        ok &= b.unreadable() == 0; // scrub replaces it; another holder may push meanwhile
      } catch (RuntimeException ex) {
        ok = false;
        log.info("copies to {} failed (retried by the next pass): {}", e.getKey(),
            ex.toString());
      }
    }
    return ok;
  }

  /** Deletes copies every owner verified, if the stored ring is still {@code ring}. */
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
        progress.deleted();
      }
    }
    local.flush();
    return true;
  }
}
