package io.torus.internal.rebalance;

import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.ring.UnionRing;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's only ring writer. Every peer node campaigns in the {@value #ELECTION}
 * election; the leader looks at the cluster every tick and moves the ring through
 * <em>staged transitions</em>:
 *
 * <ol>
 *   <li><b>Stable</b> ring W. The desired members are W's, plus registered peers that are up
 *       and not asked to drain, minus peers asked to drain and minus peers that have been down
 *       longer than the grace period (lost). If they differ from W's members, the leader
 *       stores the transition {@code UnionRing(old = W, next = ketama(desired))}.
 *   <li><b>Transition</b> U: writes go to {@code next}, reads try {@code next} then
 *       {@code old}; every peer copies what it holds to its owners under {@code next}
 *       ({@link Rebalancer}) and deletes nothing. When every member of U that is up reported
 *       a done pass against U's version, the leader stores {@code next} alone (the old ring
 *       is retired). Peers then delete copies they no longer own, once the owners confirmed
 *       theirs.
 * </ol>
 *
 * <p>No ring is written with no members; a drain or loss that would empty the ring waits.
 * The very first ring (none stored) is the ketama ring of the up peers, without transition.
 *
 * <p><b>Invariants.</b> Every change is a compare-and-swap on the version read in the same
 * step, so two leaders (possible for up to one lease TTL) cannot both apply a change; one
 * transition at a time; a peer is lost only after this leader itself has seen it down for
 * the grace period (a new leader starts counting afresh: late, never early).
 *
 * <p><b>Cost.</b> A tick reads the ring and the drain requests; the peers come from the
 * registry's watch ({@link io.torus.internal.meta.PeerRegistry#watch}), so the leader does not
 * list every peer twice a second.
 *
 * <p><b>Concurrency.</b> One timer thread; the election's listener only starts and stops
 * nothing: each tick asks {@link LeaderElection#isLeader()}.
 *
 * <p><b>Failure.</b> A tick that cannot read or write etcd does nothing and is retried; a
 * transition whose peers cannot finish (etcd down, a peer stuck) simply stays in force: reads
 * still find every block through the union.
 */
public final class RebalanceCoordinator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RebalanceCoordinator.class);
  /** The election's name. */
  public static final String ELECTION = "ring";

  private final Coordination coordination;
  private final RingEditor rings;
  private final LeaderElection election;
  private final Duration grace;
  private final LongSupplier nanoTime;
  private final ScheduledExecutorService timer;
  private final Map<String, Long> downSince = new HashMap<>();
  /** The peer list as the registry's watch last delivered it; null before the first. */
  private volatile List<PeerStatus> watchedPeers;
  private final Subscription peerWatch;

  /**
   * Campaigns at once and ticks every {@code options.tick()}.
   *
   * @param candidate this node's id
   */
  public RebalanceCoordinator(Coordination coordination, String candidate,
      RebalanceOptions options, LongSupplier nanoTime) {
    this.coordination = coordination;
    this.rings = new RingEditor(coordination.ring());
    this.election = coordination.election(ELECTION, candidate);
    this.grace = options.lostPeerGrace();
    this.nanoTime = nanoTime;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-ring-coordinator");
      t.setDaemon(true);
      return t;
    });
    this.peerWatch = coordination.peers().watch(list -> watchedPeers = list);
    election.campaign();
    long tick = Math.max(10, options.tick().toMillis());
    timer.scheduleWithFixedDelay(this::tick, 0, tick, TimeUnit.MILLISECONDS);
  }

  /** Whether this node is the coordinator now. */
  public boolean isLeader() {
    return election.isLeader();
  }

  private void tick() {
    if (!election.isLeader()) {
      downSince.clear();
      return;
    }
    try {
      step();
    } catch (RuntimeException e) {
      log.warn("ring coordination step failed (retrying): {}", e.toString());
    }
  }

  private void step() {
    Optional<Ring> stored = rings.read();
    // The watched list costs etcd nothing per tick; before its first delivery, read.
    List<PeerStatus> watched = watchedPeers;
    List<PeerStatus> peers = watched != null ? watched : coordination.peers().peers();
    Map<String, PeerStatus> byId = new HashMap<>();
    peers.forEach(p -> byId.put(p.nodeId(), p));
    if (stored.isEmpty()) {
      List<RingPeer> up = new ArrayList<>();
      Set<String> drains = coordination.rebalance().drains();
      peers.stream().filter(p -> p.up() && !drains.contains(p.nodeId()))
          .forEach(p -> up.add(member(p)));
      if (!up.isEmpty()) {
        rings.replace(null, new KetamaRing(1, up)).ifPresent(r ->
            log.info("first ring, version {}: {}", r.version(), r.members()));
      }
      return;
    }
    Ring ring = stored.get();
    trackDown(ring, byId);
    if (ring instanceof UnionRing u) {
      maybeRetire(u, byId);
    } else {
      maybeStart(ring, peers, byId);
    }
  }

  private void trackDown(Ring ring, Map<String, PeerStatus> byId) {
    long now = nanoTime.getAsLong();
    for (RingPeer m : ring.members()) {
      PeerStatus p = byId.get(m.id());
      if (p != null && p.up()) {
        downSince.remove(m.id());
      } else {
        downSince.putIfAbsent(m.id(), now);
      }
    }
    downSince.keySet().retainAll(ring.members().stream().map(RingPeer::id).toList());
  }

  private boolean lost(String id) {
    Long since = downSince.get(id);
    return since != null && nanoTime.getAsLong() - since >= grace.toNanos();
  }

  private void maybeRetire(UnionRing u, Map<String, PeerStatus> byId) {
    Map<String, ReplicationReport> reports = coordination.rebalance().reports();
    List<String> waiting = new ArrayList<>();
    for (RingPeer m : u.members()) {
      PeerStatus p = byId.get(m.id());
      if (p == null || !p.up()) {
        continue;
      }
      ReplicationReport r = reports.get(m.id());
      if (r == null || r.ringVersion() != u.version() || !r.done()) {
        waiting.add(m.id());
      }
    }
    if (waiting.isEmpty()) {
      rings.replace(u, u.next()).ifPresent(r -> log.info(
          "transition {} complete; ring version {}: {}", u.version(), r.version(),
          r.members()));
    } else {
      log.debug("transition {} waits for {}", u.version(), waiting);
    }
  }

  private void maybeStart(Ring ring, List<PeerStatus> peers, Map<String, PeerStatus> byId) {
    Set<String> drains = coordination.rebalance().drains();
    Map<String, RingPeer> desired = new java.util.TreeMap<>();
    for (RingPeer m : ring.members()) {
      if (!drains.contains(m.id()) && !lost(m.id())) {
        desired.put(m.id(), m);
      }
    }
    for (PeerStatus p : peers) {
      if (p.up() && !drains.contains(p.nodeId()) && !desired.containsKey(p.nodeId())) {
        desired.put(p.nodeId(), member(p));
      }
    }
    List<String> now = ring.members().stream().map(RingPeer::id).toList();
    if (desired.isEmpty() || new ArrayList<>(desired.keySet()).equals(now)) {
      return;
    }
    Ring next = new KetamaRing(ring.version() + 1, new ArrayList<>(desired.values()));
    rings.replace(ring, new UnionRing(ring.version() + 1, ring, next)).ifPresent(r -> log.info(
        "transition started, ring version {}: {} -> {}", r.version(), now, desired.keySet()));
  }

  private static RingPeer member(PeerStatus p) {
    return new RingPeer(p.nodeId(), Math.max(1, p.info().capacityBytes()));
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    peerWatch.close();
    election.close();
  }
}
