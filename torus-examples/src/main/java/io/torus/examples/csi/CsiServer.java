package io.torus.examples.csi;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.torus.Torus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A CSI plugin: the Identity service, and the Controller and/or Node services, served over
 * gRPC on a Unix domain socket (Netty's epoll transport), speaking to the Torus cluster
 * through one client-only node opened on first use.
 *
 * <pre>{@code
 * try (CsiServer csi = CsiServer.start(config, Path.of("/csi/csi.sock"),
 *     () -> Torus.builder().etcd(List.of("http://etcd:2379")).peer(false).build())) {
 *   csi.awaitTermination();
 * }
 * }</pre>
 *
 * <p>Thread-safety: calls run on gRPC's executor, any number at once. {@link #close()} stops
 * accepting calls, waits up to 10 s for those running, then closes the Torus node. Attached
 * volumes are not touched: their NBD exports run in processes of their own.
 */
public final class CsiServer implements AutoCloseable {
  private final Server server;
  private final EventLoopGroup loops;
  private final ClusterAccess cluster;
  private final Path socket;

  private CsiServer(Server server, EventLoopGroup loops, ClusterAccess cluster, Path socket) {
    this.server = server;
    this.loops = loops;
    this.cluster = cluster;
    this.socket = socket;
  }

  /**
   * Starts serving at {@code socket} (a stale socket file there is replaced).
   *
   * @param torus opens the client-only node the services use; called on first need, and
   *     again after a failed attempt
   * @throws IOException if the socket cannot be bound
   * @throws IllegalStateException if Netty's epoll transport is unavailable (Linux only)
   */
  public static CsiServer start(CsiConfig config, Path socket, Supplier<Torus> torus)
      throws IOException {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException("Netty epoll (Linux) is needed for the CSI socket: "
          + Epoll.unavailabilityCause());
    }
    Files.createDirectories(socket.toAbsolutePath().getParent());
    Files.deleteIfExists(socket);
    ClusterAccess cluster = new ClusterAccess(torus, config.minPeers());
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toFile()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(loops).workerEventLoopGroup(loops)
        .addService(new IdentityService(config, cluster));
    if (config.controller()) {
      b.addService(new ControllerService(config, cluster));
    }
    if (config.node()) {
      Files.createDirectories(config.stateDir().resolve("volumes"));
      b.addService(new NodeService(config, cluster));
    }
    try {
      CsiServer started = new CsiServer(b.build().start(), loops, cluster, socket);
      Thread warm = new Thread(cluster::warmUp, "csi-connect"); // first calls need not wait
      warm.setDaemon(true);
      warm.start();
      return started;
    } catch (IOException | RuntimeException e) {
      loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      cluster.close();
      throw e;
    }
  }

  /** The socket served. */
  public Path socket() {
    return socket;
  }

  /** Blocks until the server has stopped. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    cluster.close();
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      // a socket file left behind is replaced by the next start
    }
  }
}
