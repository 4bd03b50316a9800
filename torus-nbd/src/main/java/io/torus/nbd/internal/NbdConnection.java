package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.torus.nbd.NbdExport;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: frames the byte stream into the handshake's client flags and
 * options, then into transmission requests, and hands each to {@link OptionHandler} or
 * {@link CommandHandler}.
 *
 * <p><b>Invariants.</b> Nothing is allocated from a length the client merely claims: an
 * option or write payload is buffered only up to a fixed cap (64 KiB for options, 32 MiB for
 * writes); longer ones are discarded as they arrive ({@link #skip}) and answered with an
 * error. Every buffer handed to a command is released exactly once, by the command when its
 * future completes.
 *
 * <p><b>Concurrency.</b> All fields are confined to the channel's event loop. Commands
 * complete on the volume's executor and come back through {@link #reply}, which hops to the
 * event loop. Replies are written in completion order (out of order with respect to
 * requests) and flushed once per event-loop turn.
 *
 * <p><b>Backpressure.</b> At most {@code maxInFlightRequests} requests and about
 * {@code maxInFlightBytes} of payload are in flight; a request counts until its reply has
 * been written to the socket. Past the limit the connection stops reading (autoRead off) and
 * stops decoding what it has buffered, and resumes when replies drain.
 *
 * <p><b>Failure.</b> A protocol violation (bad magic, unknown client flags, an oversize
 * EXPORT_NAME) closes the connection; a bad request gets an error reply. A client that
 * vanishes mid-payload just closes: buffered bytes are released and in-flight commands
 * release their buffers when they finish.
 */
public final class NbdConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
  /** Largest option payload buffered; longer options get ERR_TOO_BIG. */
  static final int MAX_OPTION_LENGTH = 64 * 1024;

  enum Phase { CLIENT_FLAGS, OPTIONS, TRANSMISSION, CLOSED }

  private final ServerState server;
  private ChannelHandlerContext ctx;
  private ByteBuf cum;
  private Phase phase = Phase.CLIENT_FLAGS;
  private long skip;
  private Runnable afterSkip;
  private OptionHandler options;
  private CommandHandler commands;
  private ScheduledFuture<?> handshakeTimer;
  private int inFlight;
  private long inFlightBytes;
  private boolean paused;
  private boolean disconnecting;
  private boolean flushScheduled;
  private boolean decoding;

  /** A handler for one new channel. */
  public NbdConnection(ServerState server) {
    this.server = server;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (!server.register(this)) {
      LOG.debug("refusing {}: server full or stopping", ctx.channel().remoteAddress());
      close();
      return;
    }
    options = new OptionHandler(this, server);
    ctx.writeAndFlush(NbdCodec.greeting(ctx.alloc()));
    long ms = server.handshakeTimeout().toMillis();
    handshakeTimer = ctx.executor().schedule(() -> {
      if (phase != Phase.TRANSMISSION && phase != Phase.CLOSED) {
        LOG.debug("handshake timeout: {}", ctx.channel().remoteAddress());
        close();
      }
    }, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf) || phase == Phase.CLOSED) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ByteBuf in = (ByteBuf) msg;
    cum = cum == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cum, in);
    decode();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = Phase.CLOSED;
    releaseInput();
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
    }
    server.unregister(this);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    close();
  }

  /** Decodes as many frames as the buffered input and the in-flight limits allow. */
  private void decode() {
    if (decoding) {
      return;
    }
    decoding = true;
    try {
      while (cum != null && phase != Phase.CLOSED && cum.isReadable()) {
        if (skip > 0) {
          int n = (int) Math.min(skip, cum.readableBytes());
          cum.skipBytes(n);
          skip -= n;
          if (skip > 0) {
            break;
          }
          Runnable r = afterSkip;
          afterSkip = null;
          if (r != null) {
            r.run();
          }
          continue;
        }
        boolean progressed;
        switch (phase) {
          case CLIENT_FLAGS:
            progressed = decodeClientFlags();
            break;
          case OPTIONS:
            progressed = decodeOption();
            break;
          default:
            progressed = decodeRequest();
        }
        if (!progressed) {
          break;
        }
      }
    } finally {
      decoding = false;
    }
    if (cum != null) {
      if (!cum.isReadable() || phase == Phase.CLOSED) {
        releaseInput();
      } else if (cum.refCnt() == 1) {
        cum.discardSomeReadBytes();
      }
    }
  }

  private boolean decodeClientFlags() {
    if (cum.readableBytes() < 4) {
      return false;
    }
    int flags = cum.readInt();
    if ((flags & ~(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)) != 0
        || (flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
      return violation("unsupported client flags 0x" + Integer.toHexString(flags));
    }
    options.setNoZeroes((flags & Nbd.FLAG_NO_ZEROES) != 0);
    phase = Phase.OPTIONS;
    return true;
  }

  private boolean decodeOption() {
    if (cum.readableBytes() < Nbd.OPTION_HEADER_SIZE) {
      return false;
    }
    int r = cum.readerIndex();
    if (cum.getLong(r) != Nbd.IHAVEOPT) {
      return violation("bad option magic");
    }
    int option = cum.getInt(r + 8);
    long length = cum.getUnsignedInt(r + 12);
    if (length > MAX_OPTION_LENGTH) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        return violation("EXPORT_NAME of " + length + " bytes");
      }
      cum.skipBytes(Nbd.OPTION_HEADER_SIZE);
      send(NbdCodec.optionError(ctx.alloc(), option, Nbd.REP_ERR_TOO_BIG,
          "option data too long: " + length));
      skip = length;
      return true;
    }
    if (cum.readableBytes() < Nbd.OPTION_HEADER_SIZE + length) {
      return false;
    }
    cum.skipBytes(Nbd.OPTION_HEADER_SIZE);
    ByteBuf data = cum.readSlice((int) length);
    options.handle(option, data);
    return true;
  }

  private boolean decodeRequest() {
    if (disconnecting) {
      cum.skipBytes(cum.readableBytes());
      return false;
    }
    if (cum.readableBytes() < Nbd.REQUEST_HEADER_SIZE) {
      return false;
    }
    if (inFlight >= server.maxInFlightRequests() || inFlightBytes >= server.maxInFlightBytes()) {
      pause();
      return false;
    }
    int r = cum.readerIndex();
    if (cum.getInt(r) != Nbd.REQUEST_MAGIC) {
      return violation("bad request magic 0x" + Integer.toHexString(cum.getInt(r)));
    }
    int flags = cum.getUnsignedShort(r + 4);
    int type = cum.getUnsignedShort(r + 6);
    long cookie = cum.getLong(r + 8);
    long offset = cum.getLong(r + 16);
    long length = cum.getUnsignedInt(r + 24);
    ByteBuf payload = null;
    if (type == Nbd.CMD_WRITE) {
      if (length > Nbd.MAX_PAYLOAD) {
        cum.skipBytes(Nbd.REQUEST_HEADER_SIZE);
        skip = length;
        begin(0);
        afterSkip = () -> commands.fail(cookie, Nbd.EOVERFLOW,
            "write of " + length + " bytes exceeds the maximum payload", 0);
        return true;
      }
      if (cum.readableBytes() < Nbd.REQUEST_HEADER_SIZE + length) {
        return false;
      }
      cum.skipBytes(Nbd.REQUEST_HEADER_SIZE);
      payload = cum.readRetainedSlice((int) length);
    } else {
      cum.skipBytes(Nbd.REQUEST_HEADER_SIZE);
    }
    if (type == Nbd.CMD_DISC && !server.isShuttingDown()) {
      disconnecting = true;
      cum.skipBytes(cum.readableBytes());
      closeWhenIdle();
      return false;
    }
    commands.handle(new Request(flags, type, cookie, offset, length, payload));
    return true;
  }

  private boolean violation(String why) {
    LOG.debug("protocol violation from {}: {}", ctx.channel().remoteAddress(), why);
    close();
    return false;
  }

  private void pause() {
    if (!paused) {
      paused = true;
      ctx.channel().config().setAutoRead(false);
    }
  }

  /** Enters transmission with {@code export}; called by the option handler. */
  void startTransmission(NbdExport export, boolean structured, boolean allocationContext,
      boolean enforceMinimum) {
    phase = Phase.TRANSMISSION;
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
    }
    commands = new CommandHandler(this, server, export, structured, allocationContext,
        enforceMinimum);
    if (server.isShuttingDown()) {
      shutdown();
    }
  }

  /** Counts a request as in flight with {@code bytes} of buffers; event loop only. */
  void begin(long bytes) {
    inFlight++;
    inFlightBytes += bytes;
  }

  private void end(long bytes) {
    inFlight--;
    inFlightBytes -= bytes;
    if (paused && inFlight < server.maxInFlightRequests()
        && inFlightBytes < server.maxInFlightBytes()) {
      paused = false;
      if (phase != Phase.CLOSED && !server.isShuttingDown()) {
        ctx.channel().config().setAutoRead(true);
      }
      decode();
    }
    if ((disconnecting || server.isShuttingDown()) && inFlight == 0) {
      closeWhenIdle();
    }
  }

  /**
   * Sends the reply of an in-flight request that held {@code bytes}; any thread. The reply
   * is released if the connection or its event loop is gone.
   */
  void reply(ByteBuf reply, long bytes) {
    EventExecutor ex = ctx.executor();
    if (ex.inEventLoop()) {
      writeReply(reply, bytes);
      return;
    }
    try {
      ex.execute(() -> writeReply(reply, bytes));
    } catch (RejectedExecutionException e) {
      reply.release();
    }
  }

  private void writeReply(ByteBuf reply, long bytes) {
    ctx.write(reply).addListener(f -> end(bytes));
    scheduleFlush();
  }

  /** The channel's allocator. */
  ByteBufAllocator alloc() {
    return ctx.alloc();
  }

  /** Writes a handshake frame and flushes it; event loop only. */
  void send(ByteBuf frame) {
    ctx.writeAndFlush(frame);
  }

  private void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      ctx.executor().execute(() -> {
        flushScheduled = false;
        ctx.flush();
      });
    }
  }

  /** Sends {@code frame}, then closes; event loop only. */
  void sendAndClose(ByteBuf frame) {
    phase = Phase.CLOSED;
    ctx.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
  }

  private void closeWhenIdle() {
    if (inFlight == 0 && phase != Phase.CLOSED) {
      phase = Phase.CLOSED;
      ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** Closes the connection at once; event loop only. */
  void close() {
    phase = Phase.CLOSED;
    ctx.close();
  }

  /**
   * Stops taking new requests: a connection still in the handshake closes, one in
   * transmission answers what it has buffered with ESHUTDOWN and closes when its in-flight
   * requests are answered. Any thread.
   */
  public void shutdown() {
    try {
      ctx.executor().execute(() -> {
        if (phase == Phase.CLOSED) {
          return;
        }
        if (phase != Phase.TRANSMISSION) {
          close();
          return;
        }
        ctx.channel().config().setAutoRead(false);
        decode();
        if (inFlight == 0) {
          closeWhenIdle();
        }
      });
    } catch (RejectedExecutionException e) {
      // Event loop already gone: the channel is closed.
    }
  }

  /** Closes the connection at once from any thread (after the shutdown grace period). */
  public void forceClose() {
    ctx.channel().close();
  }

  private void releaseInput() {
    if (cum != null) {
      cum.release();
      cum = null;
    }
  }

  /** A decoded transmission request; {@code payload} is the WRITE data or null. */
  record Request(int flags, int type, long cookie, long offset, long length, ByteBuf payload) {}
}
