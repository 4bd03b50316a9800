package io.torus.internal.node;

import io.torus.TorusException;
import io.torus.internal.layer.PeerView;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.rebalance.RingEditor;
import io.torus.internal.ring.Ring;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's live picture of the cluster, built on {@link Coordination}: the ring (delivered by
 * the ring store's watch, which survives disconnects and compaction), the known peers with
 * their up/down state (delivered by the peer registry's watch, {@link PeerRegistry#watch}),
 * and, for a peer node, its registration in the registry, whose capacity and used bytes are
 * written again only when they changed notably (see {@link #USAGE_STEP}).
 *
 * <p>Cost at steady state: nothing here reads or writes etcd periodically. The peer list
 * changes by watch events only (each costs the changed record), the lease keep-alive keeps
 * the registration up, and a node asking for a peer it has never heard of reads the registry
 * at most every 200 ms (a peer known to be down does not cause a read: its coming up arrives
 * by the watch).
 *
 * <p>Ring membership is not decided here: the cluster's coordinator
 * ({@link RebalanceCoordinator}) adds registered peers to the ring and removes drained or lost
 * ones, through staged transitions.
 *
 * <p>Invariants: the ring only moves forward (a delivered version lower than the current one
 * is ignored); a peer that is down in the registry has no client ({@link #client} returns
 * null), so the data path skips it at once.
 *
 * <p>Memory: a decoded ring is shared by every node of the process that holds the same
 * version ({@link RingEditor#decode}).
 *
 * <p>Concurrency: the ring and the peer list are immutable values replaced atomically
 * (volatile); readers always see one consistent version of each. Ring listeners run on the
 * ring store's watch thread, one at a time.
 *
 * <p>Failure: an unreachable registry keeps the last known peer list and logs; a ring that
 * does not decode is logged and skipped (the watch goes on).
 */
final class ClusterView implements PeerView, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterView.class);

  private final Coordination coordination;
  private final PeerTransport transport;
  private final PeerInfo self;
  private final LongSupplier[] usage;
  private final ScheduledExecutorService timer;
  private final Subscription watch;
  private final Subscription peerWatch;
  private volatile Ring ring;
  /** Wall-clock microseconds since the epoch at which {@link #ring} was adopted (0: none). */
  private volatile long ringAdoptedMicros;
  private volatile List<PeerStatus> peers = List.of();
  private volatile Map<String, InetSocketAddress> live = Map.of();
  private final Map<String, PeerClient> clients = new ConcurrentHashMap<>();
  private final List<Consumer<Ring>> ringListeners = new CopyOnWriteArrayList<>();
  private final List<Runnable> upListeners = new CopyOnWriteArrayList<>();
  private long lastUsageRefresh;
  /** The usage last registered: capacity, used bytes. */
  private long registeredCapacity;
  private long registeredUsed;
  /**
   * Used bytes are registered again when they moved by at least 1/128 of the capacity since
   * the last registration, or moved at all and the last registration is
   * {@link #USAGE_MAX_AGE_NANOS} old.
   */
  static final int USAGE_STEP = 128;
  private static final long USAGE_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(60);
  private long usageRegisteredAt;
  private final UnaryOperator<String> dial;
  /** The shortest pause between two registry reads caused by asking for an unknown peer. */
  private static final long MISS_REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private volatile long lastPeerRead;

  /**
   * Registers {@code self} (if given), reads the peers once (throwing if the registry cannot
   * be reached), starts watching the peers and the ring, and every {@code refresh} looks at
   * this peer's usage (registering it when it changed notably).
   *
   * @param self this node's registration, or null for a client-only node
   * @param capacity this peer's capacity now (ignored for a client-only node)
   * @param used this peer's used bytes now (ignored for a client-only node)
   * @param dial maps a registered address to the one to connect to
   */
  ClusterView(Coordination coordination, PeerTransport transport, PeerInfo self,
      LongSupplier capacity, LongSupplier used, Duration refresh, UnaryOperator<String> dial) {
    this.coordination = coordination;
    this.dial = dial;
    this.transport = transport;
    this.self = self;
    this.usage = new LongSupplier[] {capacity, used};
    this.peerWatch = coordination.peers().watch(this::acceptPeers);
    if (self != null) {
      coordination.peers().register(self);
      registeredCapacity = self.capacityBytes();
      registeredUsed = self.usedBytes();
      usageRegisteredAt = System.nanoTime();
    }
    refreshPeers();
    this.watch = coordination.ring().watch(new io.torus.internal.meta.RingStore.RingListener() {
      @Override
      public void ringChanged(VersionedRing stored) {
        accept(stored);
      }

      @Override
      public void ringUnreadable(TorusException error) {
        log.warn("stored ring unreadable, keeping version {}: {}",
            ring == null ? 0 : ring.version(), error.getMessage());
      }
    });
    // The watch delivers the stored ring on its own thread; read it here as well so a node
    // serves from its first request instead of failing with "no ring yet".
    coordination.ring().read().ifPresent(this::accept);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-cluster-view");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::tick, refresh.toMillis(), refresh.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private synchronized void accept(VersionedRing stored) {
    Ring r;
    try {
      r = RingEditor.decode(stored.bytes());
    } catch (TorusException e) {
      log.warn("ignoring ring version {} that does not decode: {}", stored.version(),
          e.getMessage());
      return;
    }
    Ring old = ring;
    if (old != null && r.version() == old.version()) {
      return; // the same version from the watch and the first read
    }
    if (old != null && r.version() < old.version()) {
      log.warn("ignoring ring version {} older than {}", r.version(), old.version());
      return;
    }
    ringAdoptedMicros = java.time.temporal.ChronoUnit.MICROS.between(java.time.Instant.EPOCH,
        java.time.Instant.now());
    ring = r;
    log.info("ring version {}: {}", r.version(), r);
    for (Consumer<Ring> l : ringListeners) {
      try {
        l.accept(r);
      } catch (RuntimeException e) {
        log.warn("ring listener failed on version {}", r.version(), e);
      }
    }
  }

  private void tick() {
    long now = System.nanoTime();
    if (self == null || now - lastUsageRefresh < TimeUnit.SECONDS.toNanos(2)) {
      return;
    }
    lastUsageRefresh = now;
    try {
      long capacity = usage[0].getAsLong();
      long used = usage[1].getAsLong();
      boolean notable = capacity != registeredCapacity
          || Math.abs(used - registeredUsed) >= Math.max(1, capacity / USAGE_STEP)
          || (used != registeredUsed && now - usageRegisteredAt >= USAGE_MAX_AGE_NANOS);
      if (notable) {
        registeredCapacity = capacity;
        registeredUsed = used;
        usageRegisteredAt = now;
      }
      // Unchanged values write nothing (the registry compares), except to register again
      // after a re-registration under a new lease failed.
      coordination.peers().refresh(registeredCapacity, registeredUsed);
    } catch (RuntimeException e) {
      log.warn("registering this peer's usage failed (retrying): {}", e.toString());
    }
  }

  private synchronized void refreshPeers() {
    lastPeerRead = System.nanoTime();
    acceptPeers(coordination.peers().peers());
  }

  private synchronized void acceptPeers(List<PeerStatus> all) {
    Map<String, InetSocketAddress> up = new ConcurrentHashMap<>();
    for (PeerStatus p : all) {
      if (p.up()) {
        up.put(p.nodeId(), address(dial.apply(p.info().address())));
      }
    }
    boolean cameUp = !peers.isEmpty() && !live.keySet().containsAll(up.keySet());
    peers = List.copyOf(all);
    live = up;
    if (cameUp) {
      for (Runnable l : upListeners) {
        l.run();
      }
    }
  }

  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);
    }
    return InetSocketAddress.createUnresolved(host,
        Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private boolean known(String peerId) {
    for (PeerStatus p : peers) {
      if (p.nodeId().equals(peerId)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Calls {@code listener} whenever a peer comes up (a new one, or one that was down), on the
   * thread that saw it; it must be quick.
   */
  void onPeerUp(Runnable listener) {
    upListeners.add(listener);
  }

  /**
   * When this node adopted its current ring: wall-clock microseconds since the epoch, 0
   * before it has one. Set before the ring is visible to {@link #ring()} readers.
   */
  long ringAdoptedMicros() {
    return ringAdoptedMicros;
  }

  /** Calls {@code listener} (on the ring watch thread) with every later ring version. */
  void onRingChange(Consumer<Ring> listener) {
    ringListeners.add(listener);
  }

  /** The known peers, up and down, as last read from the registry, sorted by id. */
  List<PeerStatus> peers() {
    return peers;
  }

  /** Whether {@code peerId} is registered and up, as last read. */
  boolean isUp(String peerId) {
    return live.containsKey(peerId);
  }

  /** This node's id, or null for a client-only node. */
  String selfId() {
    return self == null ? null : self.nodeId();
  }

  @Override
  public Ring ring() {
    return ring;
  }

  @Override
  public PeerClient client(String peerId) {
    InetSocketAddress a = live.get(peerId);
    if (a == null && !known(peerId)
        && System.nanoTime() - lastPeerRead > MISS_REFRESH_NANOS) {
      // A peer the ring names before its registration reached this node's watch (all peers
      // starting at once) is found now; a peer known to be down causes no read (the watch
      // brings it back), an unknown one one registry read per MISS_REFRESH_NANOS at most.
      try {
        refreshPeers();
      } catch (RuntimeException e) {
        log.debug("peer refresh on a miss failed: {}", e.toString());
      }
      a = live.get(peerId);
    }
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

  /** Stops watching and refreshing; the registration ends with the registry's close. */
  @Override
  public void close() {
    timer.shutdownNow();
    watch.close();
    peerWatch.close();
  }
}
