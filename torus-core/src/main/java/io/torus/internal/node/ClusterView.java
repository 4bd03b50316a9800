package io.torus.internal.node;

import io.torus.TorusException;
import io.torus.internal.layer.PeerView;
import io.torus.internal.meta.ClusterDirectory;
import io.torus.internal.meta.ClusterDirectory.PeerRecord;
import io.torus.internal.meta.ClusterDirectory.StoredRing;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's live picture of the cluster: the ring and the registered peers, re-read from etcd
 * every {@code refresh} (the ring watcher), and, for a peer, its heartbeat (registration
 * under the node's lease) and joining the ring.
 *
 * <p>Joining: a peer that is not a member of the stored ring adds itself (weight = its
 * capacity) by compare-and-swap, bumping the version; with no ring yet it creates a ketama
 * ring of itself. Peers are never removed automatically: a peer whose lease expired stays in
 * the ring and is treated as <em>down</em> (writes go to the next peer on the ring).
 *
 * <p>Concurrency: state is replaced atomically by the refresh thread; readers see a
 * consistent ring and peer map. Failure: an unreachable etcd keeps the last known picture and
 * logs; a ring that does not decode is logged and ignored.
 */
final class ClusterView implements PeerView, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterView.class);

  private final ClusterDirectory directory;
  private final PeerTransport transport;
  private final PeerRecord self;
  private final ScheduledExecutorService timer;
  private volatile Ring ring;
  private volatile long ringRevision = -1;
  private volatile Map<String, InetSocketAddress> live = Map.of();
  private final Map<String, PeerClient> clients = new ConcurrentHashMap<>();

  /**
   * Reads the cluster once (throwing if etcd cannot be reached), then refreshes it every
   * {@code refresh}.
   *
   * @param self this node's peer record, or null for a client-only node
   */
  ClusterView(ClusterDirectory directory, PeerTransport transport, PeerRecord self,
      Duration refresh) {
    this.directory = directory;
    this.transport = transport;
    this.self = self;
    if (self != null) {
      directory.register(self);
      join();
    }
    refresh();
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-cluster-view");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::tick, refresh.toMillis(), refresh.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void tick() {
    try {
      if (self != null) {
        directory.register(self);
      }
      refresh();
    } catch (RuntimeException e) {
      log.warn("cluster refresh failed (keeping the last known ring and peers): {}",
          e.toString());
    }
  }

  private void join() {
    for (int attempt = 0; attempt < 100; attempt++) {
      Optional<StoredRing> stored = directory.ring();
      Ring current = stored.map(s -> RingCodec.decode(s.bytes())).orElse(null);
      if (current != null && current.members().stream()
          .anyMatch(m -> m.id().equals(self.nodeId()))) {
        return;
      }
      List<RingPeer> members = new ArrayList<>();
      if (current != null) {
        members.addAll(current.members());
      }
      members.add(new RingPeer(self.nodeId(), Math.max(1, self.capacity())));
      Ring next = new KetamaRing(current == null ? 1 : current.version() + 1, members);
      if (directory.compareAndSetRing(stored.map(StoredRing::revision).orElse(0L),
          RingCodec.encode(next))) {
        log.info("peer {} joined the ring (version {}, {} peers)", self.nodeId(),
            next.version(), members.size());
        return;
      }
    }
    throw new TorusException(io.torus.ErrorCode.EIO, "could not join the ring after 100 "
        + "compare-and-swap attempts", null, true);
  }

  private void refresh() {
    Optional<StoredRing> stored = directory.ring();
    if (stored.isPresent() && stored.get().revision() != ringRevision) {
      try {
        Ring r = RingCodec.decode(stored.get().bytes());
        Ring old = ring;
        if (old == null || r.version() >= old.version()) {
          ring = r;
          ringRevision = stored.get().revision();
          log.info("ring version {}: {}", r.version(), r);
        } else {
          log.warn("ignoring ring version {} older than {}", r.version(), old.version());
        }
      } catch (TorusException e) {
        log.warn("ignoring a stored ring that does not decode: {}", e.getMessage());
      }
    }
    Map<String, InetSocketAddress> peers = new ConcurrentHashMap<>();
    for (PeerRecord p : directory.peers()) {
      peers.put(p.nodeId(), InetSocketAddress.createUnresolved(p.host(), p.port()));
    }
    live = peers;
  }

  @Override
  public Ring ring() {
    return ring;
  }

  @Override
  public PeerClient client(String peerId) {
    InetSocketAddress a = live.get(peerId);
    if (a == null) {
      return null;
    }
    PeerClient c = clients.get(peerId);
    if (c == null || !c.address().getHostString().equals(a.getHostString())
        || c.address().getPort() != a.getPort()) {
      c = transport.client(new InetSocketAddress(a.getHostString(), a.getPort()));
      clients.put(peerId, c);
    }
    return c;
  }

  /** Stops refreshing and removes this node's registration (best effort). */
  @Override
  public void close() {
    timer.shutdownNow();
    if (self != null) {
      try {
        directory.deregister(self.nodeId());
      } catch (RuntimeException e) {
        log.debug("deregistration failed: {}", e.toString());
      }
    }
  }
}
