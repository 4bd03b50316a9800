package io.torus.internal.transport;

import io.torus.internal.Crc32c;
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
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TlsConfig;
import io.torus.TorusException;
import io.torus.internal.transport.proto.Header;
import io.torus.internal.transport.proto.Op;
import io.torus.internal.transport.proto.Status;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
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
 * <p>Ownership: a request frame's payload is released by the worker after the
 * {@link PeerService} call (the service copies what it keeps). Response payloads wrap buffers
 * the service returned (owned by nobody else) and are released by the encoder.
 *
 * <p><b>Bounded memory</b> ({@link Limits}, {@link ServerAdmission}). A decoded request waits
 * in its connection's queue until it is admitted: the server holds fewer than
 * {@code maxRequests} requests and {@code maxBytes} bytes in flight (read, not yet answered on
 * the wire), the connection less than its own share of both, and the connection is
 * writable. While a connection has requests waiting, it is not read ({@code autoRead} off), so
 * TCP pushes back on its sender; it is read again once its queue drained. A reply's bytes
 * count until the reply is written, so a peer that never reads its answers stops being read
 * and holds at most its own share; other connections are served meanwhile.
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
  /** A connection is unwritable above 1 MiB of unsent replies, writable again below 256 KiB. */
  private static final WriteBufferWaterMark WATER_MARK =
      new WriteBufferWaterMark(256 << 10, 1 << 20);

  private final PeerService service;
  private final ExecutorService workers;
  private final EventLoopGroup boss;
  private final EventLoopGroup io;
  private final boolean ownsLoops;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ServerAdmission admission;
  private final Channel serverChannel;
  private volatile boolean closing;

  /**
   * How much a server holds in flight (read and not yet answered on the wire).
   *
   * @param maxRequests requests in flight over all connections (the work queue's bound)
   * @param maxBytes bytes in flight over all connections (request and reply payloads)
   * @param maxConnectionRequests requests in flight of one connection
   * @param maxConnectionBytes bytes in flight of one connection
   */
  public record Limits(int maxRequests, long maxBytes, int maxConnectionRequests,
      long maxConnectionBytes) {
    public Limits {
      if (maxRequests < 1 || maxBytes < 1 || maxConnectionRequests < 1
          || maxConnectionBytes < 1) {
        throw TorusException.invalid("server limits must be > 0: " + maxRequests + ", "
            + maxBytes + ", " + maxConnectionRequests + ", " + maxConnectionBytes);
      }
    }

    /** 1024 requests and 256 MiB in all; 128 requests and 32 MiB per connection. */
    public static Limits defaults() {
      return new Limits(1024, 256L << 20, 128, 32L << 20);
    }
  }

  private PeerServer(PeerService service, ExecutorService workers, String host, int port,
      PeerTls tls, Limits limits, EventLoops loops) {
    this.service = service;
    this.workers = workers;
    this.admission = new ServerAdmission(limits.maxRequests(), limits.maxBytes(),
        limits.maxConnectionRequests(), limits.maxConnectionBytes());
    this.ownsLoops = loops == null;
    this.boss = loops == null ? EventLoops.group(1, "torus-peer-accept") : loops.accept;
    this.io = loops == null ? EventLoops.group(2, "torus-peer-server") : loops.server;
    try {
      this.serverChannel = new ServerBootstrap().group(boss, io)
          .channel(EventLoops.serverChannel())
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
              ch.config().setWriteBufferWaterMark(WATER_MARK);
            }
          })
          .bind(host, port).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      if (ownsLoops) {
        boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
        io.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      }
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
  public static PeerServer start(PeerService service, ExecutorService workers,
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
  public static PeerServer start(PeerService service, ExecutorService workers,
      String host, int port, TlsConfig tls) {
    return start(service, workers, host, port, tls, Limits.defaults());
  }

  /**
   * Binds and starts serving with the given in-flight limits (see the class comment).
   *
   * @param tls mutual TLS settings, or null for plain TCP
   * @throws TorusException EIO if the address cannot be bound; EINVAL for unusable TLS files
   */
  public static PeerServer start(PeerService service, ExecutorService workers,
      String host, int port, TlsConfig tls, Limits limits) {
    return new PeerServer(service, workers, host, port, PeerTls.server(tls), limits, null);
  }

  /**
   * Binds and starts serving on shared event loops ({@code loops}: not shut down by
   * {@link #close}).
   *
   * @param tls mutual TLS settings, or null for plain TCP
   * @throws TorusException EIO if the address cannot be bound; EINVAL for unusable TLS files
   */
  public static PeerServer start(PeerService service, ExecutorService workers,
      String host, int port, TlsConfig tls, EventLoops loops) {
    return new PeerServer(service, workers, host, port, PeerTls.server(tls), Limits.defaults(),
        java.util.Objects.requireNonNull(loops, "loops"));
  }

  /** Bytes held by requests in flight (read, not yet answered on the wire). */
  public long inFlightBytes() {
    return admission.bytes();
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
    if (ownsLoops) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      io.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /**
   * One connection: decoded frames wait in {@link #queue} until admitted. Confined to the
   * connection's event loop, except {@link #wake()}, which schedules {@link #drain()} there.
   */
  private final class Handler extends ChannelInboundHandlerAdapter
      implements ServerAdmission.Conn {
    private final ArrayDeque<Frame> queue = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean greeted;
    private boolean closed;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Frame f = (Frame) msg;
      if (closed) {
        f.release();
        return;
      }
      queue.add(f);
      drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      drain();
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closed = true;
      Frame f;
      while ((f = queue.poll()) != null) {
        f.release();
      }
      admission.closed(this);
      ctx.fireChannelInactive();
    }

    @Override
    public void wake() {
      ChannelHandlerContext c = ctx;
      if (c != null && !closed) {
        c.executor().execute(this::drain);
      }
    }

    /** Dispatches queued frames while they are admitted; reads only when none waits. */
    private void drain() {
      while (!closed && !queue.isEmpty()) {
        Frame f = queue.peek();
        Header h = f.header;
        boolean request = !h.getResponse() && h.getOp() != Op.OP_UNSPECIFIED
            && h.getOp() != Op.UNRECOGNIZED && h.getOp() != Op.HELLO && greeted;
        if (request) {
          long cost = cost(f);
          if (!ctx.channel().isWritable() || !admission.tryAdmit(this, cost)) {
            break;
          }
          queue.poll();
          dispatch(f, cost);
        } else {
          queue.poll();
          control(f);
        }
      }
      if (!closed) {
        ctx.channel().config().setAutoRead(queue.isEmpty());
      }
    }

    /** A frame that is not an admitted request: the handshake or a protocol error. */
    private void control(Frame f) {
      Header h = f.header;
      f.release();
      if (h.getResponse() || h.getOp() == Op.OP_UNSPECIFIED || h.getOp() == Op.UNRECOGNIZED) {
        protocolError(ctx, "unexpected frame (op " + h.getOpValue() + ", response "
            + h.getResponse() + ")");
      } else if (h.getOp() == Op.HELLO) {
        hello(ctx, h);
      } else {
        protocolError(ctx, "request before the handshake");
      }
    }

    private void dispatch(Frame f, long cost) {
      long received = System.nanoTime();
      inFlight.incrementAndGet();
      try {
        workers.execute(() -> serve(ctx, this, f, cost, received));
      } catch (RejectedExecutionException e) {
        f.release();
        reply(ctx, this, cost, error(f.header, Status.SHUTTING_DOWN, "peer is shutting down"),
            null);
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
      closed = true;
      ctx.close();
    }
  }

  /** What a request holds while in flight: its payload plus a header's worth. */
  private static long cost(Frame f) {
    return f.payload.readableBytes() + 64L;
  }

  private void serve(ChannelHandlerContext ctx, ServerAdmission.Conn conn, Frame f, long cost,
      long received) {
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
    } catch (RefConflictException e) {
      log.warn("peer request {} refused: {}", h.getOp(), e.getMessage());
      r = error(h, Status.CONFLICT, e.getMessage());
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
    reply(ctx, conn, cost, r, payload);
  }

  private ByteBuf run(Header h, ByteBuf in, Header.Builder r) {
    switch (h.getOp()) {
      case PUT: {
        service.put(PeerProtocol.ref(h), h.getEpoch(), in.nioBuffer(), h.getCrc32C(),
            h.getRepair(), h.getSync());
        return null;
      }
      case GET: {
        ByteBuffer b = service.get(PeerProtocol.ref(h));
        r.setFound(b != null);
        if (b == null) {
          return null;
        }
        r.setCrc32C(Crc32c.of(b));
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
      case JOURNAL_APPEND: {
        ByteBuffer entry = in.nioBuffer();
        if (Crc32c.of(entry) != h.getCrc32C()) {
          throw new CorruptBlockException("journal entry of generation " + h.getGeneration()
              + " of volume " + h.getVolumeId() + " failed its checksum in transit");
        }
        service.journalAppend(h.getVolumeId(), h.getEpoch(), h.getGeneration(),
            h.getCheckpoint(), entry);
        return null;
      }
      case JOURNAL_FENCE: {
        List<JournalRecord> records = service.journalFence(h.getVolumeId(), h.getEpoch(),
            h.getGeneration());
        ByteBuf out = Unpooled.buffer();
        int n = PeerProtocol.writeFence(records, 0, out);
        r.setMore(n < records.size());
        return out;
      }
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

  /**
   * Writes a request's answer; its cost (plus the reply's bytes) is held until the write
   * completed or failed, then released, which lets waiting requests in.
   */
  private void reply(ChannelHandlerContext ctx, ServerAdmission.Conn conn, long cost,
      Header.Builder r, ByteBuf payload) {
    ByteBuf p = payload == null ? Unpooled.EMPTY_BUFFER : payload;
    long total = cost + p.readableBytes();
    admission.add(conn, p.readableBytes());
    if (!ctx.channel().isActive()) {
      p.release();
      finished(conn, total);
      return;
    }
    ctx.writeAndFlush(new Frame(r.build(), p)).addListener(w -> finished(conn, total));
  }

  private void finished(ServerAdmission.Conn conn, long total) {
    inFlight.decrementAndGet();
    admission.release(conn, total);
  }
}
