package io.torus.internal.layer;

import io.torus.ReadLevel;
import io.torus.WriteLevel;
import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.peer.StorePeerService;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerServer;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.spi.BlockRef;
import io.torus.testing.cluster.FaultProxy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Three in-process peers for {@link DistributedBlockLayer} tests: each a
 * {@link StorePeerService} over one {@link GatedBlockStore}, served on loopback and reached
 * through its own {@link FaultProxy}, on a Ketama ring of the three. The peers admit an epoch
 * only if {@code authority} says it is current. Close it to stop everything (gates open
 * first, so no worker stays held).
 */
final class PeerTrio implements AutoCloseable {
  static final int SIZE = 3;

  private final ExecutorService workers = Executors.newFixedThreadPool(12);
  private final ExecutorService callbacks = Executors.newFixedThreadPool(4);
  private final ExecutorService background = Executors.newFixedThreadPool(2);
  private final List<GatedBlockStore> stores = new ArrayList<>();
  private final List<PeerServer> servers = new ArrayList<>();
  private final List<FaultProxy> proxies = new ArrayList<>();
  private final PeerTransport transport;
  private final Ring ring;
  private final PeerHealth health = new PeerHealth(Duration.ofSeconds(3), System::nanoTime);
  private final Duration timeout;

  PeerTrio(EpochAuthority authority, Duration timeout) {
    this.timeout = timeout;
    List<RingPeer> members = new ArrayList<>();
    try {
      for (int i = 0; i < SIZE; i++) {
        GatedBlockStore store = new GatedBlockStore("store-" + i);
        stores.add(store);
        StorePeerService svc = new StorePeerService(id(i), List.of(store), null, authority,
            null);
        PeerServer server = PeerServer.start(svc, workers, "127.0.0.1", 0);
        servers.add(server);
        FaultProxy proxy = new FaultProxy();
        proxy.target(server.address().getPort());
        proxies.add(proxy);
        members.add(new RingPeer(id(i), 1));
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    }
    this.ring = new KetamaRing(1, members);
    this.transport = new PeerTransport("writer", TransportOptions.defaults()
        .withRequestTimeout(timeout), callbacks);
  }

  static String id(int i) {
    return "peer-" + i;
  }

  /** Which peer has id {@code id}. */
  static int index(String id) {
    return Integer.parseInt(id.substring("peer-".length()));
  }

  Ring ring() {
    return ring;
  }

  GatedBlockStore store(int i) {
    return stores.get(i);
  }

  GatedBlockStore store(String id) {
    return stores.get(index(id));
  }

  FaultProxy proxy(String id) {
    return proxies.get(index(id));
  }

  /** The peers of {@code ref} in ring order: its two replicas, then the third peer. */
  List<String> order(BlockRef ref) {
    return ring.peers(ref, SIZE);
  }

  /** A write layer with replication 2 and write level ALL under {@code epoch}. */
  DistributedBlockLayer layer(long epoch) {
    return layer(epoch, WriteLevel.ALL, ReadLevel.FIRST);
  }

  DistributedBlockLayer layer(long epoch, WriteLevel write, ReadLevel read) {
    PeerView view = new PeerView() {
      @Override
      public Ring ring() {
        return ring;
      }

      @Override
      public PeerClient client(String peerId) {
        int i = index(peerId);
        return transport.client(new InetSocketAddress("127.0.0.1", proxies.get(i).port()));
      }
    };
    return new DistributedBlockLayer(view, health, 2, epoch, write, read, timeout, background);
  }

  @Override
  public void close() {
    stores.forEach(GatedBlockStore::openAll);
    proxies.forEach(p -> p.mode(FaultProxy.Mode.PASS));
    if (transport != null) {
      transport.close();
    }
    proxies.forEach(FaultProxy::close);
    servers.forEach(s -> s.close(Duration.ofSeconds(2)));
    workers.shutdownNow();
    callbacks.shutdownNow();
    background.shutdownNow();
  }
}
