package io.torus.internal.rebalance;

import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.ring.UnionRing;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One read of the cluster's state for status tools (the CLI's {@code torus status}, a
 * cluster-info API): peers with up/down, capacity and use; the ring and any transition in
 * force; each peer's replication report and the totals over them. Immutable.
 *
 * @param peers every known peer, sorted by id
 * @param ring the stored ring, or null if the cluster has none yet
 * @param reports the latest replication report of each peer that published one
 * @param drains the peers asked to drain
 */
public record ClusterStatus(List<PeerStatus> peers, Ring ring,
    Map<String, ReplicationReport> reports, Set<String> drains) {

  /** Reads everything once; throws EIO (retryable) if the metadata cannot be reached. */
  public static ClusterStatus read(Coordination c) {
    Ring ring = new RingEditor(c.ring()).read().orElse(null);
    return new ClusterStatus(c.peers().peers(), ring, c.rebalance().reports(),
        c.rebalance().drains());
  }

  /** The ring's version, or 0. */
  public long ringVersion() {
    return ring == null ? 0 : ring.version();
  }

  /** Whether a transition (old and new ring) is in force. */
  public boolean inTransition() {
    return ring instanceof UnionRing;
  }

  /** The ring members data moves to (the ring's members when no transition runs). */
  public List<String> targetMembers() {
    if (ring == null) {
      return List.of();
    }
    Ring target = ring instanceof UnionRing u ? u.next() : ring;
    return target.members().stream().map(RingPeer::id).toList();
  }

  /** Copies that owners lack, summed over the up peers' reports of the current ring. */
  public long underReplicated() {
    return current().mapToLong(ReplicationReport::missing).sum();
  }

  /** Bytes still to copy, summed over the up peers' current reports. */
  public long bytesToMove() {
    return current().mapToLong(ReplicationReport::bytesToMove).sum();
  }

  /** Copy rate now, bytes per second, summed over the up peers. */
  public long rateBytesPerSecond() {
    return current().mapToLong(ReplicationReport::rateBytesPerSecond).sum();
  }

  /** Seconds until {@link #bytesToMove} are copied at the current rate; -1 if unknown. */
  public long etaSeconds() {
    long toMove = bytesToMove();
    long rate = rateBytesPerSecond();
    return toMove == 0 ? 0 : rate == 0 ? -1 : (toMove + rate - 1) / rate;
  }

  /** Corrupt copies found and repaired by scrub, summed over every report. */
  public long scrubRepaired() {
    return reports.values().stream().mapToLong(ReplicationReport::repaired).sum();
  }

  /**
   * Whether the cluster is at rest: no transition, and every up peer of the ring reported a
   * done pass against the current ring version with nothing missing.
   */
  public boolean settled() {
    if (ring == null || inTransition()) {
      return false;
    }
    for (PeerStatus p : peers) {
      if (!p.up()) {
        continue;
      }
      ReplicationReport r = reports.get(p.nodeId());
      if (r == null || r.ringVersion() != ring.version() || !r.done() || r.missing() > 0) {
        return false;
      }
    }
    return true;
  }

  private java.util.stream.Stream<ReplicationReport> current() {
    return peers.stream().filter(PeerStatus::up).map(p -> reports.get(p.nodeId()))
        .filter(r -> r != null && r.ringVersion() == ringVersion());
  }
}
