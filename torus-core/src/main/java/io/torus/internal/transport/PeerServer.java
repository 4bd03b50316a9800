package io.torus.internal.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.torus.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TlsConfig;
import io.torus.TorusException;
import io.torus.internal.transport.proto.Header;
import io.torus.internal.transport.proto.Op;
import io.torus.internal.transport.proto.Status;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the peer protocol for one node: decodes frames on Netty event loops and runs each
 * request on a worker executor (store calls block), answering on the same connection, in
 * completion order (requests are multiplexed by id).
 *
 * <p>Protocol errors (oversized, malformed or unknown frames, requests before the
 * handshake, a wrong protocol version) close that connection with a log line; other
 * connections are unaffected.
 *
 * <p>Ownership: a request frame's payload is released by the worker after the store call
 * (stores copy what they keep). Response payloads wrap buffers the store returned (owned by
 * nobody else) and are released by the encoder.
 *
 * <p>TLS (optional, mutual): see {@link PeerTls}; the frames are the same inside it.
 *
 * <p>Lifecycle: {@link #close(Duration)} stops accepting, lets in-flight requests finish (up
 * to the grace period), then closes every connection. Thread-safe.
 */
public final class PeerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerServer.class);
  /** How long a new connection may take to complete its TLS handshake. */
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  private final StorePeerService service;
  private final ExecutorService workers;
  private final EventLoopGroup boss;
  private final EventLoopGroup io;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Channel serverChannel;
  private volatile boolean closing;

  private PeerServer(StorePeerService service, ExecutorService workers, String host, int port,
      int ioThreads, PeerTls tls) {
    this.service = service;
    this.workers = workers;
    this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("torus-peer-accept",
        true), NioIoHandler.newFactory());
    this.io = new MultiThreadIoEventLoopGroup(ioThreads,
        new DefaultThreadFactory("torus-peer-server", true), NioIoHandler.newFactory());
    try {
      this.serverChannel = new ServerBootstrap().group(boss, io)
          .channel(NioServerSocketChannel.class)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              channels.add(ch);
              if (tls != null) {
                tls.install(ch, null, HANDSHAKE_TIMEOUT);
              }
              FrameCodec.install(ch.pipeline());
              ch.pipeline().addLast("peer-server", new Handler());
            }
          })
          .bind(host, port).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      io.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw new TorusException(ErrorCode.EIO, "cannot listen on " + host + ":" + port + ": "
          + e, e);
    }
  }

  /**
   * Binds and starts serving.
   *
   * @param service what requests do
   * @param workers runs the blocking store calls; not shut down by the server
   * @param host address to listen on
   * @param port port, or 0 for any free one (see {@link #address()})
   * @throws TorusException EIO if the address cannot be bound
   */
  public static PeerServer start(StorePeerService service, ExecutorService workers,
      String host, int port) {
    return start(service, workers, host, port, null);
  }

  /**
   * Binds and starts serving, over mutual TLS if {@code tls} is given: every connection must
   * then complete a TLS handshake presenting a certificate signed by the configured CA, or it
   * is closed (with a log line) before any frame is read.
   *
   * @param service what requests do
   * @param workers runs the blocking store calls; not shut down by the server
   * @param host address to listen on
   * @param port port, or 0 for any free one (see {@link #address()})
   * @param tls mutual TLS settings, or null for plain TCP
   * @throws TorusException EIO if the address cannot be bound; EINVAL for unusable TLS files
   */
  public static PeerServer start(StorePeerService service, ExecutorService workers,
      String host, int port, TlsConfig tls) {
    return new PeerServer(service, workers, host, port, 2, PeerTls.server(tls));
  }

  /** The bound address. */
  public InetSocketAddress address() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Requests being served right now. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Closes with a 10 s grace period for in-flight requests. */
  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }

  /** Stops accepting, waits up to {@code grace} for in-flight requests, closes everything. */
  public void close(Duration grace) {
    if (closing) {
      return;
    }
    closing = true;
    serverChannel.close().syncUninterruptibly();
    long deadline = System.nanoTime() + grace.toNanos();
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    channels.close().awaitUninterruptibly(grace.toMillis(), TimeUnit.MILLISECONDS);
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    io.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    private boolean greeted;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Frame f = (Frame) msg;
      Header h = f.header;
      if (h.getResponse() || h.getOp() == Op.OP_UNSPECIFIED || h.getOp() == Op.UNRECOGNIZED) {
        f.release();
        protocolError(ctx, "unexpected frame (op " + h.getOpValue() + ", response "
            + h.getResponse() + ")");
        return;
      }
      if (h.getOp() == Op.HELLO) {
        f.release();
        hello(ctx, h);
        return;
      }
      if (!greeted) {
        f.release();
        protocolError(ctx, "request before the handshake");
        return;
      }
      long received = System.nanoTime();
      inFlight.incrementAndGet();
      try {
        workers.execute(() -> serve(ctx, f, received));
      } catch (RejectedExecutionException e) {
        inFlight.decrementAndGet();
        f.release();
        reply(ctx, error(h, Status.SHUTTING_DOWN, "peer is shutting down"), null);
      }
    }

    private void hello(ChannelHandlerContext ctx, Header h) {
      Header.Builder r = Header.newBuilder().setRequestId(h.getRequestId()).setOp(Op.HELLO)
          .setResponse(true).setProtocolVersion(PeerProtocol.VERSION)
          .setNodeId(service.stats().nodeId());
      if (h.getProtocolVersion() != PeerProtocol.VERSION) {
        log.warn("peer connection from {}: protocol version {} is not {}; closing",
            ctx.channel().remoteAddress(), h.getProtocolVersion(), PeerProtocol.VERSION);
        r.setStatus(Status.INVALID).setMessage("unsupported protocol version "
            + h.getProtocolVersion() + "; this peer speaks " + PeerProtocol.VERSION);
        ctx.writeAndFlush(new Frame(r.build(), Unpooled.EMPTY_BUFFER))
            .addListener(ChannelFutureListener.CLOSE);
        return;
      }
      greeted = true;
      ctx.writeAndFlush(new Frame(r.build(), Unpooled.EMPTY_BUFFER));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      protocolError(ctx, cause.toString());
    }

    private void protocolError(ChannelHandlerContext ctx, String why) {
      log.warn("closing peer connection from {}: {}", ctx.channel().remoteAddress(), why);
      ctx.close();
    }
  }

  private void serve(ChannelHandlerContext ctx, Frame f, long received) {
    Header h = f.header;
    Header.Builder r;
    ByteBuf payload = null;
    try {
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received);
      if (h.getDeadlineMillis() > 0 && waited > h.getDeadlineMillis()) {
        r = error(h, Status.IO_ERROR, "deadline passed before the request ran");
      } else {
        r = ok(h);
        payload = run(h, f.payload, r);
      }
    } catch (StaleEpochException e) {
      r = error(h, Status.STALE_EPOCH, e.getMessage());
    } catch (UnauthorizedException e) {
      log.warn("peer request {} refused: {}", h.getOp(), e.getMessage());
      r = error(h, Status.UNAUTHORIZED, e.getMessage());
    } catch (CorruptBlockException e) {
      r = error(h, Status.CORRUPT, e.getMessage());
    } catch (TorusException e) {
      r = error(h, e.code() == ErrorCode.ENOSPC ? Status.NO_SPACE
          : e.code() == ErrorCode.EINVAL ? Status.INVALID : Status.IO_ERROR, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("peer request {} failed", h.getOp(), e);
      r = error(h, Status.IO_ERROR, e.toString());
    } finally {
      f.release();
    }
    reply(ctx, r, payload);
    inFlight.decrementAndGet();
  }

  private ByteBuf run(Header h, ByteBuf in, Header.Builder r) {
    switch (h.getOp()) {
      case PUT: {
        service.put(PeerProtocol.ref(h), h.getEpoch(), in.nioBuffer(), h.getCrc32C(),
            h.getRepair());
        return null;
      }
      case GET: {
        ByteBuffer b = service.get(PeerProtocol.ref(h));
        r.setFound(b != null);
        if (b == null) {
          return null;
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b.duplicate());
        r.setCrc32C((int) crc.getValue());
        return Unpooled.wrappedBuffer(b);
      }
      case DELETE:
        r.setFound(service.delete(PeerProtocol.ref(h), h.getEpoch(),
            h.getToken().isEmpty() ? null : h.getToken().toByteArray()));
        return null;
      case HAS: {
        int n = in.readableBytes() / BlockRef.BYTES;
        ByteBuffer refs = in.nioBuffer();
        ByteBuf out = Unpooled.buffer(n);
        if (h.getVerify()) {
          List<BlockRef> asked = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            asked.add(BlockRef.readFrom(refs));
          }
          for (boolean b : service.containsVerified(asked)) {
            out.writeByte(b ? 1 : 0);
          }
          return out;
        }
        for (int i = 0; i < n; i++) {
          out.writeByte(service.contains(BlockRef.readFrom(refs)) ? 1 : 0);
        }
        return out;
      }
      case LIST: {
        BlockRef after = h.getRef().isEmpty() ? null : PeerProtocol.ref(h);
        int max = Math.min(Math.max(1, h.getMaxRefs()), PeerProtocol.MAX_LIST);
        ListPage page = service.list(h.getVolumeId(), after, max);
        ByteBuffer out = ByteBuffer.allocate(page.refs().size() * BlockRef.BYTES);
        page.refs().forEach(ref -> ref.writeTo(out));
        r.setMore(page.more());
        return Unpooled.wrappedBuffer(out.flip());
      }
      case FLUSH:
        service.flush();
        return null;
      case STATS: {
        PeerStats s = service.stats();
        r.setNodeId(s.nodeId()).setCapacity(s.capacity()).setUsed(s.used());
        return null;
      }
      default:
        throw TorusException.invalid("unknown op " + h.getOp());
    }
  }

  private static Header.Builder ok(Header h) {
    return Header.newBuilder().setRequestId(h.getRequestId()).setOp(h.getOp())
        .setResponse(true).setStatus(Status.OK);
  }

  private static Header.Builder error(Header h, Status s, String message) {
    return ok(h).setStatus(s).setMessage(message == null ? "" : message);
  }

  private static void reply(ChannelHandlerContext ctx, Header.Builder r, ByteBuf payload) {
    ByteBuf p = payload == null ? Unpooled.EMPTY_BUFFER : payload;
    if (!ctx.channel().isActive()) {
      p.release();
      return;
    }
    ctx.writeAndFlush(new Frame(r.build(), p));
  }
}
