package io.torus.nbd.internal;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The socket transport of the NBD server: Linux epoll (Netty's native transport: fewer copies
 * and system calls per request) where it loads, Java NIO elsewhere or when the system property
 * {@code torus.nbd.epoll} is {@code false}.
 */
public enum Transport {
  EPOLL,
  NIO;

  /** The transport this process uses. */
  public static Transport select() {
    boolean allowed = !"false".equalsIgnoreCase(System.getProperty("torus.nbd.epoll"));
    return allowed && Epoll.isAvailable() ? EPOLL : NIO;
  }

  /** Event loops of this transport, daemon threads named {@code prefix-N-M}. */
  public EventLoopGroup group(int threads, String prefix) {
    IoHandlerFactory io = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true), io);
  }

  /** The listening socket's channel class. */
  public Class<? extends ServerChannel> serverChannel() {
    return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }
}
