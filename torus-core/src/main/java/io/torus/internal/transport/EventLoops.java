package io.torus.internal.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The network threads of the peer protocol, which several nodes of one process may share:
 * the client side's event loops, and the server side's accept loop and connection loops. A
 * transport or server built over shared loops never shuts them down; their owner closes them
 * after every user. The loops only move bytes: request work runs on the service's workers and
 * completions on the transport's callback executor.
 *
 * <p>The loops use Linux epoll (Netty's native transport: fewer copies and system calls per
 * request) where it loads, Java NIO elsewhere or with {@code -Dtorus.peer.epoll=false}; every
 * channel of the peer protocol is of the matching kind ({@link #socketChannel},
 * {@link #serverChannel}).
 *
 * <p>Thread-safe.
 */
public final class EventLoops implements AutoCloseable {
  /** Whether this process's peer protocol runs on epoll. */
  static final boolean EPOLL =
      !"false".equalsIgnoreCase(System.getProperty("torus.peer.epoll")) && Epoll.isAvailable();

  final EventLoopGroup client;
  final EventLoopGroup accept;
  final EventLoopGroup server;

  private EventLoops(int clientThreads, int serverThreads) {
    this.client = group(clientThreads, PeerTransport.THREAD_PREFIX);
    this.accept = group(1, "torus-peer-accept");
    this.server = group(serverThreads, "torus-peer-server");
  }

  /**
   * New loops.
   *
   * @param clientThreads event loops of outgoing connections, >= 1
   * @param serverThreads event loops of accepted connections, >= 1
   */
  public static EventLoops create(int clientThreads, int serverThreads) {
    if (clientThreads < 1 || serverThreads < 1) {
      throw io.torus.TorusException.invalid("event loop threads must be >= 1: "
          + clientThreads + ", " + serverThreads);
    }
    return new EventLoops(clientThreads, serverThreads);
  }

  static EventLoopGroup group(int threads, String prefix) {
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true),
        EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /** The class of an outgoing connection on these loops. */
  static Class<? extends SocketChannel> socketChannel() {
    return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The class of a listening socket on these loops. */
  static Class<? extends ServerSocketChannel> serverChannel() {
    return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  /** Stops every loop (connections still open on them are closed). */
  @Override
  public void close() {
    client.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    accept.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    server.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    client.terminationFuture().syncUninterruptibly();
    accept.terminationFuture().syncUninterruptibly();
    server.terminationFuture().syncUninterruptibly();
  }
}
