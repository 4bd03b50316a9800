package io.torus.internal.node;

import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's single ring writer: every peer node campaigns in the {@code ring} election;
 * the leader adds registered peers that are up and not in the ring.
 */
final class RebalanceCoordinator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RebalanceCoordinator.class);
  static final String ELECTION = "ring";

  private final Coordination coordination;
  private final RingEditor rings;
  private final LeaderElection election;
  private final ScheduledExecutorService timer;

  RebalanceCoordinator(Coordination coordination, String candidate, Duration tick) {
    this.coordination = coordination;
    this.rings = new RingEditor(coordination.ring());
    this.election = coordination.election(ELECTION, candidate);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-ring-coordinator");
      t.setDaemon(true);
      return t;
    });
    election.campaign();
    timer.scheduleWithFixedDelay(this::tick, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void tick() {
    if (!election.isLeader()) {
      return;
    }
    try {
      step();
    } catch (RuntimeException e) {
      log.warn("ring coordination step failed (retrying): {}", e.toString());
    }
  }

  private void step() {
    Optional<Ring> current = rings.read();
    List<PeerStatus> peers = coordination.peers().peers();
    List<RingPeer> members = new ArrayList<>(current.map(Ring::members).orElse(List.of()));
    boolean changed = false;
    for (PeerStatus p : peers) {
      if (p.up() && members.stream().noneMatch(m -> m.id().equals(p.nodeId()))) {
        members.add(new RingPeer(p.nodeId(), Math.max(1, p.info().capacityBytes())));
        changed = true;
      }
    }
    if (changed) {
      rings.replace(current.orElse(null), new KetamaRing(1, members)).ifPresent(r ->
          log.info("ring version {}: {} peers", r.version(), r.members().size()));
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    election.close();
  }
}
