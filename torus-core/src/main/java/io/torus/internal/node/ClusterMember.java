package io.torus.internal.node;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.DistributedBlockLayer;
import io.torus.internal.layer.PeerHealth;
import io.torus.internal.layer.StripeCounters;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.PeerAuthority;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.peer.StorePeerService;
import io.torus.internal.ring.Ring;
import io.torus.internal.rebalance.RebalanceCoordinator;
import io.torus.internal.rebalance.Rebalancer;
import io.torus.internal.rebalance.Scrubber;
import io.torus.internal.transport.PeerServer;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cluster side of a node: the peer client transport, and for a peer its server,
 * registration, the ring coordinator candidate, the {@link Rebalancer} and the
 * {@link Scrubber}; hands out {@link DistributedBlockLayer}s.
 *
 * <p>Lifecycle: {@link #close()} stops the coordinator, rebalancer and scrubber, stops
 * watching, stops the server after draining in-flight requests, then closes the transport.
 * Thread-safe.
 */
final class ClusterMember implements AutoCloseable {
  private final NodeConfig config;
  private final String nodeId;
  private final List<BlockStore> stores;
  /** Completes peer futures; never blocks (blocking here would starve completions). */
  private final ExecutorService callbacks;
  private final ExecutorService workers;
  private final ExecutorService repairs;
  /** Degraded reads of erasure-coded shards by this node's layers. */
  private final StripeCounters stripeCounters = new StripeCounters();
  private final PeerTransport transport;
  private final PeerHealth health;
  private PeerServer server;
  private StorePeerService peerService;
  private ClusterView view;
  private RebalanceCoordinator coordinator;
  private Rebalancer rebalancer;
  private Scrubber scrubber;
  private java.util.concurrent.ScheduledFuture<?> reporter;
  private final Coordination coordination;
  /** The cluster token and epoch checks of the peer protocol. */
  private final PeerAuthority authority;

  ClusterMember(NodeConfig c, String nodeId, MetadataService meta, Coordination coordination,
      List<BlockStore> stores, NodeResources resources) {
    this.config = c;
    this.nodeId = nodeId;
    this.stores = stores;
    this.coordination = coordination;
    this.authority = coordination.authority(); // before any thread is started
    this.callbacks = resources.peerCallbacks();
    this.workers = resources.peerWorkers();
    this.repairs = resources.repairs();
    this.health = new PeerHealth(Duration.ofSeconds(3), resources.ticker());
    this.transport = new PeerTransport(nodeId,
        TransportOptions.defaults().withRequestTimeout(c.peer().timeout()), callbacks,
        c.peer().tls(), authority.clusterToken(), resources.eventLoops());
    try {
      start(c, nodeId, meta, stores, resources);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private void start(NodeConfig c, String nodeId, MetadataService meta,
      List<BlockStore> stores, NodeResources resources) {
    PeerInfo self = null;
    StorePeerService local = null;
    Path dir = c.storage().dataDirectory();
    if (c.peer().enabled()) {
      Path epochs = dir == null ? null : dir.resolve("epochs");
      local = new StorePeerService(nodeId, stores, epochs, authority::isCurrent,
          authority.clusterToken());
      peerService = local;
      server = PeerServer.start(local, workers, c.peer().listenHost(), c.peer().listenPort(),
          c.peer().tls(), resources.eventLoops());
      String host = c.peer().advertiseHost() != null ? c.peer().advertiseHost()
          : c.peer().listenHost();
      int port = c.peer().advertisePort() != 0 ? c.peer().advertisePort()
          : server.address().getPort();
      self = new PeerInfo(nodeId, (host.contains(":") ? "[" + host + "]" : host) + ":" + port,
          capacity(stores), used(stores), 1, resources.clock().instant());
    }
    view = new ClusterView(coordination, transport, self, () -> capacity(stores),
        () -> used(stores), Duration.ofMillis(500), c.peer().dial());
    if (!c.peer().enabled()) {
      return;
    }
    var options = c.peer().rebalance();
    coordinator = new RebalanceCoordinator(coordination, nodeId, options, resources.ticker());
    java.util.function.Supplier<Map<Long, VolumeInfo>> volumes = () -> {
      Map<Long, VolumeInfo> m = new TreeMap<>();
      meta.volumes().forEach(v -> m.put(v.id(), v));
      return m;
    };
    rebalancer = new Rebalancer(nodeId, local, view, volumes,
        () -> coordination.ring().read().map(VersionedRing::version).orElse(0L),
        coordination.rebalance(), dir == null ? null : dir.resolve("rebalance.progress"),
        options, c.peer().timeout());
    rebalancer.attachStripes(ref -> layer(1, 0).getAsync(ref),
        (ref, present) -> ((DistributedBlockLayer) layer(1, 0)).rebuildShard(ref, present));
    view.onRingChange(r -> rebalancer.ringChanged(r.members().size()));
    view.onPeerUp(rebalancer::wake); // copies owed to it can go now
    if (!options.scrubInterval().isZero()) {
      scrubber = new Scrubber(nodeId, local, view, volumes,
          dir == null ? null : dir.resolve("scrub.progress"), options, c.peer().timeout());
      rebalancer.attach(scrubber);
      scrubber.attachStripes((ref, present) -> ((DistributedBlockLayer) layer(1, 0))
          .rebuildShard(ref, present));
    }
    reporter = resources.scheduler().scheduleWithFixedDelay(rebalancer::publish, 0, 1,
        TimeUnit.SECONDS);
  }

  private static long capacity(List<BlockStore> stores) {
    return stores.stream().mapToLong(BlockStore::capacity).sum();
  }

  private static long used(List<BlockStore> stores) {
    return stores.stream().mapToLong(BlockStore::used).sum();
  }


  /** The block layer of a volume of this replication, opened with fencing {@code epoch}. */
  BlockLayer layer(int replication, long epoch) {
    return new DistributedBlockLayer(view, health, replication, epoch,
        config.peer().writeLevel(), config.peer().readLevel(), config.peer().timeout(),
        repairs, stripeCounters);
  }

  /**
   * A read-only layer that asks every member of the current ring, in each ref's ring order
   * (for readers that do not know a block's replication, such as the collector).
   */
  BlockLayer readerLayer() {
    Ring r = view.ring();
    int members = r == null ? 1 : Math.max(1, r.members().size());
    return layer(members, 0);
  }

  /** Whether one of this peer's stores is more than half full. */
  boolean underPressure() {
    return stores.stream().anyMatch(st -> st.used() * 2 > st.capacity());
  }

  /** The live view of peers and ring. */
  ClusterView view() {
    return view;
  }

  /** The cluster's coordination (elections for cluster-wide work). */
  Coordination coordination() {
    return coordination;
  }

  /** The peer server's port, or -1 for a client-only node. */
  int port() {
    return server == null ? -1 : server.address().getPort();
  }

  /** Registers this member's rebalance and scrub meters; returns them for removal. */
  List<Meter> bindMetrics(MeterRegistry registry) {
    List<Meter> out = new ArrayList<>();
    ClusterView v = view;
    if (v != null) {
      out.add(Gauge.builder("torus.cluster.ring.version", v,
          cv -> cv.ring() == null ? 0 : cv.ring().version())
          .description("the ring version this node places blocks by")
          .tag("node", nodeId).register(registry));
      out.add(Gauge.builder("torus.cluster.ring.adopted", v, cv -> cv.ringAdoptedMicros() / 1e6)
          .description("when this node adopted its ring version (seconds since the epoch)")
          .baseUnit("seconds").tag("node", nodeId).register(registry));
    }
    out.add(FunctionCounter.builder("torus.erasure.degraded.reads", stripeCounters,
        StripeCounters::degradedReads)
        .description("reads of erasure-coded shards with no stored copy, sent to the stripe")
        .tag("node", nodeId).register(registry));
    out.add(FunctionCounter.builder("torus.erasure.rebuilt.shards", stripeCounters,
        StripeCounters::rebuiltShards)
        .description("shards rebuilt from their stripes by degraded reads")
        .tag("node", nodeId).register(registry));
    Rebalancer rb = rebalancer;
    if (rb != null) {
      out.add(FunctionCounter.builder("torus.rebalance.moved", rb, Rebalancer::bytesMoved)
          .baseUnit("bytes").description("bytes copied to other peers").tag("node", nodeId).register(registry));
      out.add(FunctionCounter.builder("torus.rebalance.copies", rb, Rebalancer::copiesMade)
          .description("block copies made for rebalance and re-replication")
          .tag("node", nodeId).register(registry));
      out.add(FunctionCounter.builder("torus.rebalance.deleted", rb,
          Rebalancer::copiesDeleted).description("copies deleted after moving")
          .tag("node", nodeId).register(registry));
      out.add(Gauge.builder("torus.rebalance.missing", rb, r -> r.report(null).missing())
          .description("copies owners lack, as far as this peer is responsible")
          .tag("node", nodeId).register(registry));
      out.add(Gauge.builder("torus.rebalance.to.move", rb, r -> r.report(null).bytesToMove())
          .baseUnit("bytes").tag("node", nodeId).register(registry));
      out.add(Gauge.builder("torus.rebalance.ring.version", rb,
          r -> r.report(null).ringVersion()).tag("node", nodeId).register(registry));
      out.add(Gauge.builder("torus.rebalance.done", rb,
          r -> r.report(null).done() ? 1 : 0).tag("node", nodeId).register(registry));
    }
    Scrubber s = scrubber;
    if (s != null) {
      out.add(FunctionCounter.builder("torus.scrub.inconsistent.stripes", s,
          Scrubber::inconsistentStripes)
          .description("erasure-coded stripes whose parity did not match their data")
          .tag("node", nodeId).register(registry));
      out.add(FunctionCounter.builder("torus.scrub.scrubbed", s, Scrubber::scrubbed)
          .description("blocks verified by scrub").tag("node", nodeId).register(registry));
      out.add(FunctionCounter.builder("torus.scrub.corrupt", s, Scrubber::corrupt)
          .description("corrupt copies found by scrub").tag("node", nodeId).register(registry));
      out.add(FunctionCounter.builder("torus.scrub.repaired", s, Scrubber::repaired)
          .description("corrupt copies replaced by scrub").tag("node", nodeId).register(registry));
    }
    return out;
  }

  @Override
  public void close() {
    if (reporter != null) {
      reporter.cancel(false);
    }
    if (coordinator != null) {
      coordinator.close();
    }
    if (scrubber != null) {
      scrubber.close();
    }
    if (rebalancer != null) {
      rebalancer.close();
    }
    if (view != null) {
      view.close();
    }
    if (server != null) {
      server.close(Duration.ofSeconds(10));
    }
    if (peerService != null) {
      peerService.close(); // after the server drained: no journal append is running
    }
    // The pools belong to the node's resources (perhaps shared): tasks of this member still
    // queued there fail against the closed transport and are logged.
    transport.close();
  }
}
