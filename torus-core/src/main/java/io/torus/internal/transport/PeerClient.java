package io.torus.internal.transport;

// Over 600 lines because a connection's whole life (connect, TLS, handshake, multiplexed
// requests, deadlines, idle close and the hand-over of a request to a fresh connection)
// shares one Link's state and reads best in one place.

import io.torus.internal.Crc32c;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.internal.transport.proto.Header;
import io.torus.internal.transport.proto.Op;
import io.torus.internal.transport.proto.Status;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer protocol client for one remote peer: a small pool of connections
 * ({@link TransportOptions#connectionsPerPeer()}), requests multiplexed on them by id and
 * pipelined (many in flight per connection, answered in any order). Connections open on the
 * first request and close after {@link TransportOptions#idleTimeout()} without traffic and
 * with nothing in flight, so a node holds connections only to the peers it works with now;
 * a request that picked a connection just as it closed for idleness goes out on a new one.
 *
 * <p><b>Futures</b> complete on the transport's callback executor, never on an event loop.
 * Failures are {@link TorusException}s: EIO and retryable for a lost connection or a passed
 * deadline, {@link StaleEpochException} for a fenced put (or a delete with a stale or
 * unconfirmed epoch), {@link UnauthorizedException} (EPERM) for a delete the peer does not
 * accept, {@link RefConflictException} for a put of a stored ref with different content,
 * {@link CorruptBlockException} for a copy that fails its checksum (at the peer or in
 * transit), ENOSPC for a full peer.
 *
 * <p><b>Deadlines and backpressure.</b> Every request has a deadline (default
 * {@link TransportOptions#requestTimeout()}); it fails at the deadline whatever the state of
 * its connection. The bytes in flight to this peer are bounded by
 * {@link TransportOptions#maxInFlightBytes()} ({@link InFlightBudget}). No method ever blocks
 * its caller: a request
 * that finds no room queues, holding no thread, behind the earlier ones that also wait
 * (first come, first sent) until answers free enough room; if none comes before its
 * deadline it fails with "no room" (EIO, retryable), and once sent it has what is left of its
 * deadline. So a caller may send from any thread, an event loop or the callback executor
 * included. A request's bytes stay in the budget until it ended (answered, failed or expired)
 * <em>and</em> its frame was written to the socket or dropped, so requests that expire behind
 * a stalled connection cannot pile up unsent frames.
 *
 * <p><b>Buffers.</b> A put sends the caller's buffer without copying: its content must not
 * change until the future completes. A get hands out a fresh heap buffer the caller owns;
 * the network buffer is released before the future completes.
 *
 * <p>With TLS (see {@link PeerTls}) a connection first completes a mutual TLS handshake; one
 * that fails closes the connection and fails its requests with the handshake's reason.
 *
 * <p>Connections open lazily, with a {@code HELLO} handshake first, and are re-opened after
 * a failure on the next request. Thread-safe.
 */
public final class PeerClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerClient.class);
  private static final int MIN_RESERVE = 1024;

  private final PeerTransport transport;
  private final InetSocketAddress address;
  private final Link[] links;
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicLong ids = new AtomicLong();
  private final InFlightBudget budget;
  private volatile boolean closed;

  PeerClient(PeerTransport transport, InetSocketAddress address) {
    this.transport = transport;
    this.address = address;
    this.links = new Link[transport.options.connectionsPerPeer()];
    this.budget = new InFlightBudget(transport.options.maxInFlightBytes(), address.toString(),
        transport.group, transport::complete);
  }

  /** The remote address. */
  public InetSocketAddress address() {
    return address;
  }

  /** Stores a block on the peer under the volume's fencing {@code epoch}. */
  public CompletableFuture<Void> put(BlockRef ref, long epoch, ByteBuffer data, int crc32c,
      boolean repair, Duration deadline) {
    return put(ref, epoch, data, crc32c, repair, false, deadline);
  }

  /**
   * {@link #put(BlockRef, long, ByteBuffer, int, boolean, Duration)}; with {@code sync} the
   * peer answers only once the copy is durable (it forces the store that holds it).
   */
  public CompletableFuture<Void> put(BlockRef ref, long epoch, ByteBuffer data, int crc32c,
      boolean repair, boolean sync, Duration deadline) {
    Header.Builder h = Header.newBuilder().setOp(Op.PUT).setRef(PeerProtocol.ref(ref))
        .setVolumeId(ref.volumeId()).setEpoch(epoch).setCrc32C(crc32c).setRepair(repair)
        .setSync(sync);
    return call(h, Unpooled.wrappedBuffer(data.duplicate()), data.remaining(), deadline,
        f -> null);
  }

  /** The peer's copy, verified against its CRC32C, or null if the peer does not hold it. */
  public CompletableFuture<ByteBuffer> get(BlockRef ref, Duration deadline) {
    Header.Builder h = Header.newBuilder().setOp(Op.GET).setRef(PeerProtocol.ref(ref));
    return call(h, Unpooled.EMPTY_BUFFER, TransportOptions.GET_RESERVE, deadline, f -> {
      if (!f.header.getFound()) {
        return null;
      }
      ByteBuffer copy = ByteBuffer.allocate(f.payload.readableBytes());
      f.payload.getBytes(f.payload.readerIndex(), copy);
      copy.flip();
      if (Crc32c.of(copy) != f.header.getCrc32C()) {
        throw new CorruptBlockException("block " + ref + " from " + address
            + " failed its checksum in transit");
      }
      return copy;
    });
  }

  /**
   * Deletes the peer's copy, authorized by the cluster token this node's transport holds
   * (garbage collection, rebalance); true if it had one. Without a token the peer refuses it
   * with {@link UnauthorizedException}.
   */
  public CompletableFuture<Boolean> delete(BlockRef ref, Duration deadline) {
    Header.Builder h = Header.newBuilder().setOp(Op.DELETE).setRef(PeerProtocol.ref(ref));
    byte[] token = transport.clusterToken();
    if (token != null) {
      h.setToken(com.google.protobuf.ByteString.copyFrom(token));
    }
    return call(h, Unpooled.EMPTY_BUFFER, MIN_RESERVE, deadline, f -> f.header.getFound());
  }

  /**
   * Deletes the peer's copy, authorized by the writer's fencing {@code epoch} for the ref's
   * volume (the peer refuses an epoch below the highest it accepted with
   * {@link StaleEpochException}); true if it had one.
   */
  public CompletableFuture<Boolean> delete(BlockRef ref, long epoch, Duration deadline) {
    if (epoch <= 0) {
      throw TorusException.invalid("delete epoch must be > 0: " + epoch);
    }
    Header.Builder h = Header.newBuilder().setOp(Op.DELETE).setRef(PeerProtocol.ref(ref))
        .setVolumeId(ref.volumeId()).setEpoch(epoch);
    return call(h, Unpooled.EMPTY_BUFFER, MIN_RESERVE, deadline, f -> f.header.getFound());
  }

  /** For each ref, whether the peer holds it (index membership; see the verified twin). */
  public CompletableFuture<boolean[]> has(List<BlockRef> refs, Duration deadline) {
    return has(refs, deadline, false);
  }

  /**
   * For each ref, whether the peer holds it. With {@code verify}, true only for a copy that is
   * durable (the peer flushes the store holding it first if that store is dirty) and whose
   * checksum-verified read succeeds; without, whether the ref is in the peer's index (a copy
   * not yet flushed, or one failing its checksum, counts).
   */
  public CompletableFuture<boolean[]> has(List<BlockRef> refs, Duration deadline,
      boolean verify) {
    ByteBuffer b = ByteBuffer.allocate(refs.size() * BlockRef.BYTES);
    refs.forEach(r -> r.writeTo(b));
    Header.Builder h = Header.newBuilder().setOp(Op.HAS).setVerify(verify);
    return call(h, Unpooled.wrappedBuffer(b.flip()), b.remaining(), deadline, f -> {
      boolean[] out = new boolean[refs.size()];
      if (f.payload.readableBytes() != out.length) {
        throw new TorusException(ErrorCode.EIO, "HAS answer of " + f.payload.readableBytes()
            + " bytes for " + out.length + " refs");
      }
      for (int i = 0; i < out.length; i++) {
        out[i] = f.payload.getByte(f.payload.readerIndex() + i) != 0;
      }
      return out;
    });
  }

  /** Up to {@code max} refs of a volume the peer holds after {@code after} (null: first). */
  public CompletableFuture<ListPage> list(long volumeId, BlockRef after, int max,
      Duration deadline) {
    Header.Builder h = Header.newBuilder().setOp(Op.LIST).setVolumeId(volumeId)
        .setMaxRefs(max);
    if (after != null) {
      h.setRef(PeerProtocol.ref(after));
    }
    return call(h, Unpooled.EMPTY_BUFFER, MIN_RESERVE, deadline, f -> {
      ByteBuffer in = f.payload.nioBuffer();
      List<BlockRef> refs = new ArrayList<>(in.remaining() / BlockRef.BYTES);
      while (in.remaining() >= BlockRef.BYTES) {
        refs.add(BlockRef.readFrom(in));
      }
      return new ListPage(refs, f.header.getMore());
    });
  }

  /** Barrier: completes once every put this peer acknowledged before it is durable. */
  public CompletableFuture<Void> flush(Duration deadline) {
    return call(Header.newBuilder().setOp(Op.FLUSH), Unpooled.EMPTY_BUFFER, MIN_RESERVE,
        deadline, f -> null);
  }

  /**
   * Appends one entry to a volume's flush journal on the peer (see
   * {@link PeerService#journalAppend}); completes once the peer made it durable. The entry's
   * remaining bytes are sent without copying: they must not change until the future
   * completes. Fails with {@link StaleEpochException} for a refused epoch, EINVAL for a
   * generation that does not move forward or an oversized entry, ENOSPC when the peer holds
   * too many entries of the volume, {@link CorruptBlockException} if the bytes were damaged in
   * transit, EIO (retryable) for a lost connection or a passed deadline.
   */
  public CompletableFuture<Void> journalAppend(long volumeId, long epoch, long generation,
      long checkpoint, ByteBuffer entry, Duration deadline) {
    Header.Builder h = Header.newBuilder().setOp(Op.JOURNAL_APPEND).setVolumeId(volumeId)
        .setEpoch(epoch).setGeneration(generation).setCheckpoint(checkpoint)
        .setCrc32C(Crc32c.of(entry));
    return call(h, Unpooled.wrappedBuffer(entry.duplicate()), entry.remaining(), deadline,
        f -> null);
  }

  /**
   * Fences a volume's journal on the peer with {@code epoch} and reads it: every entry the
   * peer holds with a generation above {@code after}, ascending (see
   * {@link PeerService#journalFence}). An answer too large for one frame arrives in several
   * (each a fence with the same epoch, after the last generation received); the deadline
   * bounds them all. Fails with {@link StaleEpochException} for a refused epoch, EIO
   * (retryable) for a lost connection, a passed deadline or an answer that does not parse.
   */
  public CompletableFuture<List<JournalRecord>> journalFence(long volumeId, long epoch,
      long after, Duration deadline) {
    Duration d = deadline != null ? deadline : transport.options.requestTimeout();
    long end = System.nanoTime() + d.toNanos();
    List<JournalRecord> out = new ArrayList<>();
    return fencePage(volumeId, epoch, after, end, out);
  }

  private CompletableFuture<List<JournalRecord>> fencePage(long volumeId, long epoch,
      long after, long end, List<JournalRecord> out) {
    Duration left = Duration.ofNanos(end - System.nanoTime());
    if (left.isNegative() || left.isZero()) {
      return CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO, "peer "
          + address + " " + Op.JOURNAL_FENCE + ": no complete answer within the deadline",
          null, true));
    }
    Header.Builder h = Header.newBuilder().setOp(Op.JOURNAL_FENCE).setVolumeId(volumeId)
        .setEpoch(epoch).setGeneration(after);
    CompletableFuture<Boolean> page = call(h, Unpooled.EMPTY_BUFFER,
        TransportOptions.GET_RESERVE, left, f -> {
          List<JournalRecord> got = PeerProtocol.readFence(f.payload.nioBuffer());
          long last = out.isEmpty() ? after : out.get(out.size() - 1).generation();
          for (JournalRecord r : got) {
            if (r.generation() <= last) {
              throw new TorusException(ErrorCode.EIO, "JOURNAL_FENCE answer of peer "
                  + address + " is not ascending above " + last + ": " + r.generation());
            }
            last = r.generation();
            out.add(r);
          }
          if (f.header.getMore() && got.isEmpty()) {
            throw new TorusException(ErrorCode.EIO, "JOURNAL_FENCE answer of peer " + address
                + " is empty but says more follow");
          }
          return f.header.getMore();
        });
    return page.thenCompose(more -> more
        ? fencePage(volumeId, epoch, out.get(out.size() - 1).generation(), end, out)
        : CompletableFuture.completedFuture(out));
  }

  /** The peer's id, capacity and use. */
  public CompletableFuture<PeerStats> stats(Duration deadline) {
    return call(Header.newBuilder().setOp(Op.STATS), Unpooled.EMPTY_BUFFER, MIN_RESERVE,
        deadline, f -> new PeerStats(f.header.getNodeId(), f.header.getCapacity(),
            f.header.getUsed()));
  }

  private <T> CompletableFuture<T> call(Header.Builder h, ByteBuf payload, int reserve,
      Duration deadline, Function<Frame, T> decode) {
    Duration d = deadline != null ? deadline : transport.options.requestTimeout();
    CompletableFuture<T> future = new CompletableFuture<>();
    int permits = Math.max(MIN_RESERVE, reserve);
    if (closed) {
      payload.release();
      future.completeExceptionally(new TorusClosedException("peer client " + address
          + " is closed"));
      return future;
    }
    budget.admit(permits, d, left -> {
      long id = ids.incrementAndGet();
      h.setRequestId(id).setDeadlineMillis((int) Math.min(Integer.MAX_VALUE,
          Math.max(1, left.toMillis())));
      Pending<T> p = new Pending<>(h.getOp(), future, decode, permits);
      link().send(id, p, new Frame(h.build(), payload), left);
    }, error -> {
      payload.release();
      future.completeExceptionally(error);
    });
    return future;
  }

  private Link link() {
    int i = Math.floorMod(next.getAndIncrement(), links.length);
    synchronized (links) {
      Link l = links[i];
      if (l == null || l.dead) {
        l = new Link();
        links[i] = l;
      }
      return l;
    }
  }

  /** Connections open now (the idle ones are closed, see {@link TransportOptions}). */
  public int openConnections() {
    synchronized (links) {
      int n = 0;
      for (Link l : links) {
        n += l != null && !l.dead && l.channel.channel().isOpen() ? 1 : 0;
      }
      return n;
    }
  }

  /** Fails every request in flight and closes the connections. Idempotent. */
  @Override
  public void close() {
    closed = true;
    budget.close(new TorusClosedException("peer client " + address + " is closed"));
    synchronized (links) {
      for (Link l : links) {
        if (l != null) {
          l.channel.channel().close();
        }
      }
    }
  }

  @Override
  public String toString() {
    return "PeerClient[" + address + "]";
  }

  /** A request waiting for its answer. Completed at most once: by whoever removes it. */
  private final class Pending<T> {
    final Op op;
    final CompletableFuture<T> future;
    final Function<Frame, T> decode;
    final int permits;
    /** Events before the budget is returned: the request ended, and its frame left. */
    private final AtomicInteger holds = new AtomicInteger(2);
    ScheduledFuture<?> timer;

    Pending(Op op, CompletableFuture<T> future, Function<Frame, T> decode, int permits) {
      this.op = op;
      this.future = future;
      this.decode = decode;
      this.permits = permits;
    }

    /** Decodes the answer (on the event loop, releasing it), completes off the loop. */
    void answer(Frame f) {
      T value = null;
      RuntimeException error = null;
      try {
        error = statusError(f.header);
        if (error == null) {
          value = decode.apply(f);
        }
      } catch (RuntimeException e) {
        error = e;
      } finally {
        f.release();
      }
      finish(value, error);
    }

    void finish(T value, RuntimeException error) {
      if (timer != null) {
        timer.cancel(false);
      }
      unhold();
      T v = value;
      transport.complete(() -> {
        if (error != null) {
          future.completeExceptionally(error);
        } else {
          future.complete(v);
        }
      });
    }

    /**
     * The request's frame was written to the socket or dropped (never to be written): only
     * then, and once the request ended, do its bytes leave the in-flight budget. A request
     * that expired while its frame still waits behind others keeps holding them.
     */
    void frameGone() {
      unhold();
    }

    private void unhold() {
      if (holds.decrementAndGet() == 0) {
        budget.release(permits);
      }
    }

    RuntimeException statusError(Header h) {
      if (h.getStatus() == Status.OK || h.getStatus() == Status.NOT_FOUND) {
        return null;
      }
      String msg = "peer " + address + " " + op + ": " + h.getMessage();
      switch (h.getStatus()) {
        case STALE_EPOCH:
          return new StaleEpochException(msg);
        case UNAUTHORIZED:
          return new UnauthorizedException(msg);
        case CONFLICT:
          return new RefConflictException(msg);
        case CORRUPT:
          return new CorruptBlockException(msg);
        case NO_SPACE:
          return new TorusException(ErrorCode.ENOSPC, msg);
        case INVALID:
          return new TorusException(ErrorCode.EINVAL, msg);
        default:
          return new TorusException(ErrorCode.EIO, msg, null, true);
      }
    }
  }

  /** One connection and the requests in flight on it. */
  private final class Link {
    final Map<Long, Pending<?>> pending = new ConcurrentHashMap<>();
    final ChannelFuture channel;
    volatile boolean dead;
    volatile String tlsFailure;
    /** Closed for being idle: takes no request (set and read under the links' lock). */
    boolean retired;

    Link() {
      this.channel = new Bootstrap().group(transport.group).channel(EventLoops.socketChannel())
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
              (int) transport.options.connectTimeout().toMillis())
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              if (transport.tls != null) {
                watch(transport.tls.install(ch, address,
                    transport.options.connectTimeout()));
              }
              FrameCodec.install(ch.pipeline());
              long idle = transport.options.idleTimeout().toMillis();
              if (idle > 0) {
                ch.pipeline().addLast(new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
              }
              ch.pipeline().addLast("peer-client", new Handler());
            }
          })
          .connect(address);
      channel.addListener(f -> {
        if (f.isSuccess()) {
          Header hello = Header.newBuilder().setOp(Op.HELLO).setRequestId(0)
              .setProtocolVersion(PeerProtocol.VERSION).setNodeId(transport.nodeId()).build();
          channel.channel().writeAndFlush(new Frame(hello, Unpooled.EMPTY_BUFFER));
        } else {
          dead = true;
        }
      });
      channel.channel().closeFuture().addListener(f -> {
        dead = true;
        String why = tlsFailure;
        failAll(why != null ? why : "connection to peer " + address + " closed");
      });
    }

    private String sendFailure(Throwable cause) {
      String tls = tlsFailure;
      if (tls != null) {
        return tls;
      }
      return cause instanceof SSLException ? "TLS handshake with peer " + address
          + " failed: " + cause : "cannot send to peer " + address + ": " + cause;
    }

    /** Logs a failed TLS handshake once and makes it the reason requests fail with. */
    private void watch(SslHandler tls) {
      tls.handshakeFuture().addListener(h -> {
        if (!h.isSuccess()) {
          tlsFailure = "TLS handshake with peer " + address + " failed: " + h.cause();
          log.warn("{}; closing", tlsFailure);
        }
      });
    }

    /** Retires this idle link if no request is in flight on it; whether it did. */
    boolean retire() {
      synchronized (links) {
        retired = pending.isEmpty();
        dead |= retired;
        return retired;
      }
    }

    void send(long id, Pending<?> p, Frame f, Duration d) {
      synchronized (links) {
        if (!retired) {
          pending.put(id, p);
        }
      }
      if (retired) { // chosen just before it went idle: a new connection carries it
        link().send(id, p, f, d);
        return;
      }
      p.timer = channel.channel().eventLoop().schedule(() -> expire(id, d),
          d.toNanos(), TimeUnit.NANOSECONDS);
      channel.addListener(c -> {
        if (!c.isSuccess()) {
          f.release();
          p.frameGone();
          fail(id, "cannot connect to peer " + address + ": " + c.cause());
          return;
        }
        channel.channel().writeAndFlush(f).addListener(w -> {
          p.frameGone();
          if (!w.isSuccess()) {
            fail(id, sendFailure(w.cause()));
          }
        });
      });
      if (dead && !channel.channel().isOpen()) {
        fail(id, "connection to peer " + address + " closed");
      }
    }

    private void expire(long id, Duration d) {
      Pending<?> p = pending.remove(id);
      if (p != null) {
        p.finish(null, new TorusException(ErrorCode.EIO, "peer " + address + " " + p.op
            + ": no answer within " + d.toMillis() + " ms", null, true));
      }
    }

    private void fail(long id, String why) {
      Pending<?> p = pending.remove(id);
      if (p != null) {
        p.finish(null, new TorusException(ErrorCode.EIO, why, null, true));
      }
    }

    void failAll(String why) {
      for (Long id : new ArrayList<>(pending.keySet())) {
        fail(id, why);
      }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Frame f = (Frame) msg;
        long id = f.header.getRequestId();
        if (id == 0) {
          hello(ctx, f);
          return;
        }
        Pending<?> p = pending.remove(id);
        if (p == null) {
          f.release(); // answered after its deadline
          return;
        }
        p.answer(f);
      }

      private void hello(ChannelHandlerContext ctx, Frame f) {
        Header h = f.header;
        f.release();
        if (h.getStatus() != Status.OK || h.getProtocolVersion() != PeerProtocol.VERSION) {
          log.warn("peer {} refused the handshake (version {}): {}; closing", address,
              h.getProtocolVersion(), h.getMessage());
          ctx.close();
        }
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent && retire()) {
          ctx.close();
        }
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tlsFailure == null) {
          log.warn("closing connection to peer {}: {}", address, cause.toString());
        }
        ctx.close();
      }
    }
  }
}
