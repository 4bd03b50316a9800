package io.torus.internal.node;

import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.DistributedBlockLayer;
import io.torus.internal.layer.PeerHealth;
import io.torus.internal.meta.ClusterDirectory;
import io.torus.internal.meta.ClusterDirectory.PeerRecord;
import io.torus.internal.transport.PeerServer;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.StorePeerService;
import io.torus.internal.transport.TransportOptions;
import io.torus.spi.BlockStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cluster side of a node: the peer client transport, and for a peer its server,
 * registration and ring membership; hands out {@link DistributedBlockLayer}s.
 *
 * <p>Lifecycle: {@link #close()} deregisters, stops the server after draining in-flight
 * requests, then closes the transport. Thread-safe.
 */
final class ClusterMember implements AutoCloseable {
  private final NodeConfig config;
  /** Completes peer futures; never blocks (blocking here would starve completions). */
  private final ExecutorService callbacks;
  private final ExecutorService workers;
  private final ExecutorService repairs;
  private final PeerTransport transport;
  private final PeerServer server;
  private final ClusterView view;
  private final PeerHealth health;

  ClusterMember(NodeConfig c, String nodeId, ClusterDirectory directory,
      List<BlockStore> stores) {
    this.config = c;
    this.callbacks = Executors.newFixedThreadPool(4, daemon("torus-peer-callback-"));
    this.workers = Executors.newFixedThreadPool(8, daemon("torus-peer-worker-"));
    this.repairs = Executors.newFixedThreadPool(2, daemon("torus-repair-"));
    this.health = new PeerHealth(Duration.ofSeconds(3), System::nanoTime);
    this.transport = new PeerTransport(nodeId,
        TransportOptions.defaults().withRequestTimeout(c.peerTimeout()), callbacks, c.tls());
    PeerServer srv = null;
    ClusterView v;
    try {
      PeerRecord self = null;
      if (c.peer()) {
        Path epochs = c.dataDirectory() == null ? null : c.dataDirectory().resolve("epochs");
        srv = PeerServer.start(new StorePeerService(nodeId, stores, epochs), workers,
            c.listenHost(), c.listenPort(), c.tls());
        long capacity = stores.stream().mapToLong(BlockStore::capacity).sum();
        self = new PeerRecord(nodeId,
            c.advertiseHost() != null ? c.advertiseHost() : c.listenHost(),
            c.advertisePort() != 0 ? c.advertisePort() : srv.address().getPort(), capacity);
      }
      v = new ClusterView(directory, transport, self, Duration.ofMillis(500));
    } catch (RuntimeException e) {
      if (srv != null) {
        srv.close(Duration.ZERO);
      }
      transport.close();
      callbacks.shutdownNow();
      workers.shutdownNow();
      repairs.shutdownNow();
      throw e;
    }
    this.server = srv;
    this.view = v;
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** The block layer of a volume opened with fencing {@code epoch} (0: read-only). */
  BlockLayer layer(VolumeInfo info, long epoch) {
    return new DistributedBlockLayer(view, health, info.replication(), epoch,
        config.writeLevel(), config.readLevel(), config.peerTimeout(), repairs);
  }

  /** The peer server's port, or -1 for a client-only node. */
  int port() {
    return server == null ? -1 : server.address().getPort();
  }

  @Override
  public void close() {
    List<RuntimeException> errors = new ArrayList<>();
    try {
      view.close();
    } catch (RuntimeException e) {
      errors.add(e);
    }
    if (server != null) {
      server.close(Duration.ofSeconds(10));
    }
    repairs.shutdown();
    try {
      repairs.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    transport.close();
    workers.shutdown();
    callbacks.shutdown();
    try {
      workers.awaitTermination(5, TimeUnit.SECONDS);
      callbacks.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!errors.isEmpty()) {
      throw errors.get(0);
    }
  }
}
