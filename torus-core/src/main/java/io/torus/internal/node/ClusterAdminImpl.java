package io.torus.internal.node;

import io.torus.ClusterAdmin;
import io.torus.TorusException;
import io.torus.internal.meta.ClusterDirectory.StoredRing;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.EtcdClusterDefaults;
import io.torus.internal.meta.EtcdMetadataService;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ClusterAdmin} over the metadata service's {@link Coordination} (peer registry, ring
 * store) and the etcd cluster defaults record.
 *
 * <p>A clustered peer node also <em>registers</em> itself here: it writes its peer record
 * (address, capacity, used bytes) to the peer registry and refreshes its usage every
 * {@link #REFRESH_SECONDS} seconds, so operators see every peer with its figures, up or
 * down. Closing this object deletes the node's alive record (the peer is then down at once).
 *
 * <p>The ring is read from the ring store; while the data path still keeps its ring in the
 * cluster directory ({@code ROOT/v1/ring}), that one is shown when the ring store is empty.
 *
 * <p>Concurrency: thread-safe; every read goes to the metadata service. Failure: a failed
 * usage refresh is logged and retried at the next tick; reads throw what the service throws.
 */
final class ClusterAdminImpl implements ClusterAdmin, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterAdminImpl.class);
  static final int REFRESH_SECONDS = 5;
  private static final int PROTOCOL_VERSION = 1;

  private final boolean clustered;
  private final Coordination coordination;
  private final EtcdClusterDefaults defaults;
  private final Supplier<Optional<byte[]>> directoryRing;
  private ScheduledExecutorService refresher;
  private PeerRegistry registered;

  private ClusterAdminImpl(boolean clustered, Coordination coordination,
      EtcdClusterDefaults defaults, Supplier<Optional<byte[]>> directoryRing) {
    this.clustered = clustered;
    this.coordination = coordination;
    this.defaults = defaults;
    this.directoryRing = directoryRing;
  }

  /**
   * The admin view of a node's cluster; for a clustered peer (its peer server on
   * {@code peerPort}) also registers the node with its stores' figures.
   */
  static ClusterAdminImpl start(MetadataService meta, NodeConfig c, String nodeId,
      int peerPort, List<BlockStore> stores) {
    Coordination coord = meta instanceof Coordination co ? co : null;
    EtcdClusterDefaults defaults = null;
    Supplier<Optional<byte[]>> dirRing = Optional::empty;
    if (meta instanceof EtcdMetadataService etcd) {
      defaults = new EtcdClusterDefaults(etcd);
      dirRing = () -> etcd.cluster().ring().map(StoredRing::bytes);
    }
    ClusterAdminImpl admin = new ClusterAdminImpl(c.clustered(), coord, defaults, dirRing);
    if (c.clustered() && peerPort > 0 && coord != null) {
      String host = c.advertiseHost() != null ? c.advertiseHost() : c.listenHost();
      int port = c.advertisePort() != 0 ? c.advertisePort() : peerPort;
      String address = host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
      admin.register(new io.torus.internal.meta.PeerInfo(nodeId, address, capacity(stores),
          used(stores), PROTOCOL_VERSION, Instant.now()), stores);
    }
    return admin;
  }

  private void register(io.torus.internal.meta.PeerInfo self, List<BlockStore> stores) {
    PeerRegistry peers = coordination.peers();
    registered = peers;
    boolean[] done = {false};
    Runnable tick = () -> {
      try {
        if (done[0]) {
          peers.refresh(capacity(stores), used(stores));
        } else {
          peers.register(self.withUsage(capacity(stores), used(stores)));
          done[0] = true;
        }
      } catch (RuntimeException e) {
        log.warn("could not {} this peer (retried in {} s): {}",
            done[0] ? "refresh the usage of" : "register", REFRESH_SECONDS, e.toString());
      }
    };
    tick.run(); // on the caller's thread first: a node is listed once it has started
    refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-peer-usage");
      t.setDaemon(true);
      return t;
    });
    refresher.scheduleWithFixedDelay(tick, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
  }

  private static long capacity(List<BlockStore> stores) {
    return stores.stream().mapToLong(BlockStore::capacity).sum();
  }

  private static long used(List<BlockStore> stores) {
    return stores.stream().mapToLong(BlockStore::used).sum();
  }

  @Override
  public boolean clustered() {
    return clustered;
  }

  @Override
  public List<PeerInfo> peers() {
    if (coordination == null) {
      return List.of();
    }
    return coordination.peers().peers().stream().map(ClusterAdminImpl::peer).toList();
  }

  private static PeerInfo peer(PeerStatus s) {
    io.torus.internal.meta.PeerInfo i = s.info();
    return new PeerInfo(i.nodeId(), i.address(), s.up(), i.capacityBytes(),
        i.usedBytes(), i.started());
  }

  @Override
  public boolean removePeer(String nodeId) {
    if (coordination == null) {
      return false;
    }
    return coordination.peers().remove(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public Optional<RingInfo> ring() {
    Optional<byte[]> bytes = coordination == null ? Optional.empty()
        : coordination.ring().read().map(VersionedRing::bytes);
    if (bytes.isEmpty()) {
      bytes = directoryRing.get();
    }
    return bytes.map(b -> {
      Ring r = RingCodec.decode(b);
      return new RingInfo(r.version(), r.type().name(), r.members().stream()
          .map(m -> new RingMember(m.id(), m.weight())).toList(), b.length);
    });
  }

  @Override
  public Optional<Defaults> defaults() {
    return defaults == null ? Optional.empty() : defaults.read();
  }

  @Override
  public Defaults initialize(int replication, int blockSize, boolean force) {
    return etcdDefaults().initialize(replication, blockSize, force);
  }

  @Override
  public Defaults setReplication(int replication) {
    return etcdDefaults().setReplication(replication);
  }

  private EtcdClusterDefaults etcdDefaults() {
    if (defaults == null) {
      throw TorusException.invalid("cluster defaults live in etcd; this node has no etcd");
    }
    return defaults;
  }

  /** Stops refreshing and deletes this node's alive record (best effort). Idempotent. */
  @Override
  public synchronized void close() {
    if (refresher != null) {
      refresher.shutdownNow();
      refresher = null;
    }
    if (registered != null) {
      registered.close();
      registered = null;
    }
  }
}
