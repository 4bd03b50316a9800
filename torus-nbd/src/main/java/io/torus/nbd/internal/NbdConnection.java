package io.torus.nbd.internal;

// Over 600 lines because one connection's state machine (hand-off from negotiation, decoding,
// backpressure, reply ordering) shares fields confined to its event loop; the TLS handshake
// events are in TlsEvents and the option haggling in OptionHandler.

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.torus.nbd.NbdExport;
import java.net.SocketAddress;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: buffers the byte stream and frames it, handing the handshake to
 * {@link OptionHandler} (which frames client flags and options) and transmission requests to
 * {@link CommandHandler}.
 *
 * <p><b>Invariants.</b> Nothing is allocated from a length the client merely claims: an option is
 * buffered only up to 64 KiB (longer ones are discarded as they arrive, {@link #discard}); a WRITE
 * payload of at most 32 MiB is copied into a {@link PayloadAssembly} whose chunks are allocated as
 * bytes arrive, and only while the budget takes input (longer payloads are discarded and answered
 * EOVERFLOW). Every buffer handed to a command is released exactly once, by the command when its
 * future completes.
 *
 * <p><b>Memory.</b> Every byte this connection holds in transmission is counted in the server's
 * {@link InFlightBudget}: buffered input and payload chunks as they arrive, a request's cost
 * (WRITE payload, READ reply) until its reply is written. A READ reserves its reply before
 * allocating it and waits when it does not fit; after input arrives while the budget takes no
 * input the connection stops reading (unless it holds the overdraft). Handshake input is not
 * counted: it is bounded per connection (one option) and by the handshake timeout.
 *
 * <p><b>Backpressure.</b> The connection stops reading (autoRead off) and decoding while any
 * of these holds: {@code maxInFlightRequests} requests or {@code maxInFlightBytes} of cost in
 * flight; the budget is full or a READ does not fit ({@link #budgetAvailable} resumes it);
 * the channel is not writable because the client does not read its replies. A request
 * counts until its reply has been written to the socket.
 *
 * <p><b>Concurrency.</b> All fields are confined to the channel's event loop; the volatile
 * ones are a snapshot that {@link ServerState}'s sweep and eviction read from other
 * threads. Commands complete on the volume's executor and come back through {@link #reply},
 * which hops to the event loop. Replies are written in completion order and flushed once per
 * event-loop turn.
 *
 * <p><b>Failure.</b> A protocol violation (bad magic, unknown client flags, an oversize
 * EXPORT_NAME) closes the connection; a bad request gets an error reply. A client that
 * vanishes or is evicted mid-payload just closes: buffered bytes are released and in-flight
 * commands release their buffers when they finish.
 */
public final class NbdConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
  /** Bytes reserved for a READ reply beyond its data (the larger, structured header). */
  private static final int READ_REPLY_OVERHEAD = Nbd.CHUNK_HEADER_SIZE + 8;
  /** Room a connection waiting to take input needs: a socket read and a payload chunk. */
  private static final long INPUT_NEED = 2 * PayloadAssembly.MIN_CHUNK;

  private static final int PAUSE_LIMIT = 1;
  private static final int PAUSE_BUDGET = 2;
  private static final int PAUSE_UNWRITABLE = 4;

  enum Phase { CLIENT_FLAGS, OPTIONS, TRANSMISSION, CLOSED }

  private final ServerState server;
  private final InFlightBudget budget;
  private final long connectedAt;
  private ChannelHandlerContext ctx;
  private ByteBuf cum;
  private long skip;
  private Runnable afterSkip;
  private PayloadAssembly assembly;
  private OptionHandler options;
  private CommandHandler commands;
  private long inFlightBytes;
  private long inputHeld;
  private boolean waitingForBudget;
  private boolean overdraft;
  private boolean disconnecting;
  private boolean flushScheduled;
  private boolean decoding;

  private volatile Phase phase = Phase.CLIENT_FLAGS;
  private volatile int inFlight;
  private volatile int pauses;
  private volatile boolean partial;
  private volatile long held;
  private volatile long lastInput;
  private volatile long lastActivity;
  private volatile long unwritableSince;
  private volatile boolean evicted;

  /** A handler for one new channel. */
  public NbdConnection(ServerState server) {
    this.server = server;
    this.budget = server.budget();
    this.connectedAt = server.now();
    this.lastInput = connectedAt;
    this.lastActivity = connectedAt;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (!server.admit(this)) {
      close();
      return;
    }
    options = new OptionHandler(this, server);
    options.greet();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf) || phase == Phase.CLOSED) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ByteBuf in = (ByteBuf) msg;
    if (in.isReadable()) {
      lastInput = server.now();
    }
    cum = cum == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cum, in);
    decode();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      unwritableSince = 0;
      resume(PAUSE_UNWRITABLE);
    } else if (unwritableSince == 0) {
      unwritableSince = server.now();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = Phase.CLOSED;
    releaseInput();
    budget.cancel(this);
    overdraft = false;
    server.unregister(this);
    ctx.fireChannelInactive();
  }

  /**
   * Puts TLS under the byte stream after the STARTTLS reply has been written (it is below
   * the new handler, so it leaves in plaintext). Input buffered past the STARTTLS option was
   * sent before the reply, against the protocol: the connection is closed. Event loop only.
   */
  void startTls(ServerTls tls) {
    if (cum != null && cum.isReadable()) {
      violation("data after STARTTLS before its reply");
      return;
    }
    ctx.pipeline().addFirst("tls", tls.newHandler(ctx.alloc(),
        server.limits().handshakeTimeout()));
    ctx.pipeline().addAfter("tls", "tls-events", new TlsEvents(this, server));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    close();
  }

  /** Decodes as many frames as the buffered input, the limits and the budget allow. */
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
        if (assembly != null) {
          progressed = fillAssembly();
        } else if (phase == Phase.CLIENT_FLAGS) {
          progressed = options.decodeClientFlags(cum);
          if (progressed) {
            phase = Phase.OPTIONS;
          }
        } else if (phase == Phase.OPTIONS) {
          progressed = options.decodeOption(cum);
        } else {
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
        cum.release();
        cum = null;
      } else {
        cum.discardSomeReadBytes();
      }
    }
    if (phase == Phase.CLOSED) {
      releaseInput();
    }
    syncHeld();
    if (phase == Phase.TRANSMISSION && hasPendingInput() && budget.inputFull()
        && (pauses & PAUSE_BUDGET) == 0 && !overdraft) {
      if (assembly != null && budget.tryOverdraft(this)) {
        overdraft = true;
        decode();
      } else {
        waitForBudget(INPUT_NEED, true);
      }
    }
  }

  private boolean hasPendingInput() {
    return skip > 0 || assembly != null || (cum != null && cum.isReadable());
  }

  /** Brings the budget and the snapshot in line with the input this connection holds. */
  private void syncHeld() {
    long now = (cum == null ? 0 : cum.capacity()) + (assembly == null ? 0 : assembly.capacity());
    if (phase != Phase.TRANSMISSION && phase != Phase.CLOSED) {
      now = 0;
    }
    if (now != inputHeld) {
      budget.addInput(now - inputHeld);
      inputHeld = now;
    }
    held = inputHeld + inFlightBytes;
    partial = hasPendingInput();
  }

  private boolean decodeRequest() {
    if (disconnecting) {
      cum.skipBytes(cum.readableBytes());
      return false;
    }
    if (cum.readableBytes() < Nbd.REQUEST_HEADER_SIZE) {
      return false;
    }
    ServerLimits limits = server.limits();
    if (inFlight >= limits.maxInFlightRequests() || inFlightBytes >= limits.maxInFlightBytes()) {
      pause(PAUSE_LIMIT);
      return false;
    }
    if (!ctx.channel().isWritable()) {
      pause(PAUSE_UNWRITABLE);
      return false;
    }
    int r = cum.readerIndex();
    if (cum.getInt(r) != Nbd.REQUEST_MAGIC) {
      return violation("bad request magic 0x" + Integer.toHexString(cum.getInt(r)));
    }
    Request req = Request.peek(cum, r);
    int type = req.type();
    long length = req.length();
    if (type == Nbd.CMD_WRITE) {
      cum.skipBytes(Nbd.REQUEST_HEADER_SIZE);
      lastActivity = server.now();
      if (length > Nbd.MAX_PAYLOAD) {
        skip = length;
        begin(0);
        afterSkip = () -> commands.fail(req, Nbd.EOVERFLOW,
            "write of " + length + " bytes exceeds the maximum payload", null, 0);
        return true;
      }
      assembly = new PayloadAssembly(ctx.alloc(), req);
      return true;
    }
    long cost = 0;
    if (type == Nbd.CMD_READ && length > 0 && length <= Nbd.MAX_PAYLOAD
        && !server.isShuttingDown()) {
      cost = length + READ_REPLY_OVERHEAD;
      if (!budget.tryAcquire(cost)) {
        waitForBudget(cost, false);
        return false;
      }
    }
    cum.skipBytes(Nbd.REQUEST_HEADER_SIZE);
    if (type == Nbd.CMD_DISC && !server.isShuttingDown()) {
      disconnecting = true;
      cum.skipBytes(cum.readableBytes());
      closeWhenIdle();
      return false;
    }
    dispatch(req, cost);
    return true;
  }

  /** Moves buffered payload bytes into the assembly; dispatches the WRITE once complete. */
  private boolean fillAssembly() {
    if (!overdraft && budget.inputFull()) {
      return false;
    }
    int n = Math.min(assembly.remaining(), cum.readableBytes());
    if (n > 0) {
      assembly.append(cum, n);
    }
    if (!assembly.isComplete()) {
      return false;
    }
    PayloadAssembly a = assembly;
    assembly = null;
    long cost = a.request().length();
    budget.add(cost);
    Request r = a.request().withPayload(a.finish());
    syncHeld();
    if (overdraft) {
      overdraft = false;
      budget.endOverdraft(this);
    }
    dispatch(r, cost);
    return true;
  }

  private void dispatch(Request r, long cost) {
    begin(cost);
    commands.handle(r, cost);
  }

  /** Discards the next {@code n} bytes of input as they arrive; event loop only. */
  void discard(long n) {
    skip = n;
  }

  /** Closes the connection for a protocol violation; returns false (no frame decoded). */
  boolean violation(String why) {
    LOG.debug("protocol violation from {}: {}", ctx.channel().remoteAddress(), why);
    close();
    return false;
  }

  private void pause(int reason) {
    if (pauses == 0) {
      ctx.channel().config().setAutoRead(false);
    }
    pauses |= reason;
  }

  private void resume(int reason) {
    if ((pauses & reason) == 0) {
      return;
    }
    pauses &= ~reason;
    if (pauses == 0 && phase != Phase.CLOSED && !server.isShuttingDown() && !disconnecting) {
      lastInput = server.now();
      ctx.channel().config().setAutoRead(true);
    }
    decode();
  }

  private void waitForBudget(long need, boolean input) {
    pause(PAUSE_BUDGET);
    if (!waitingForBudget) {
      waitingForBudget = true;
      budget.await(this, need, input, assembly == null ? -1 : assembly.remaining());
    }
  }

  /** Room appeared in the budget (or the overdraft is offered); any thread. */
  void budgetAvailable() {
    try {
      ctx.executor().execute(() -> {
        waitingForBudget = false;
        if (phase != Phase.CLOSED) {
          resume(PAUSE_BUDGET);
        }
      });
    } catch (RejectedExecutionException e) {
      // Event loop gone: the channel is closed.
    }
  }

  /** Enters transmission with {@code export}; called by the option handler. */
  void startTransmission(NbdExport export, boolean structured, boolean allocationContext,
      boolean enforceMinimum) {
    phase = Phase.TRANSMISSION;
    lastActivity = server.now();
    commands = new CommandHandler(this, server, export, structured, allocationContext,
        enforceMinimum);
    if (server.isShuttingDown()) {
      shutdown();
    }
  }

  /** Counts a request as in flight with {@code bytes} of cost; event loop only. */
  void begin(long bytes) {
    inFlight++;
    inFlightBytes += bytes;
    lastActivity = server.now();
  }

  private void end(long bytes) {
    inFlight--;
    inFlightBytes -= bytes;
    budget.release(bytes);
    lastActivity = server.now();
    held = inputHeld + inFlightBytes;
    ServerLimits limits = server.limits();
    if ((pauses & PAUSE_LIMIT) != 0 && inFlight < limits.maxInFlightRequests()
        && inFlightBytes < limits.maxInFlightBytes()) {
      resume(PAUSE_LIMIT);
    }
    if ((disconnecting || server.isShuttingDown()) && inFlight == 0) {
      closeWhenIdle();
    }
  }

  /**
   * Sends the reply of an in-flight request that cost {@code bytes}; any thread. The reply
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
      budget.release(bytes);
    }
  }

  private void writeReply(ByteBuf reply, long bytes) {
    ctx.write(reply).addListener(f -> end(bytes));
    if (!ctx.channel().isWritable() && unwritableSince == 0) {
      unwritableSince = server.now();
    }
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
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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

  /** Closes the connection from any thread for {@code reason}; false if already evicted. */
  boolean evict(String reason) {
    if (evicted) {
      return false;
    }
    evicted = true;
    LOG.debug("closing {}: {}", remote(), reason);
    ctx.channel().close();
    return true;
  }

  private void releaseInput() {
    if (cum != null) {
      cum.release();
      cum = null;
    }
    if (assembly != null) {
      assembly.release();
      assembly = null;
    }
    skip = 0;
    afterSkip = null;
    syncHeld();
  }

  // Snapshot for ServerState; any thread.

  SocketAddress remote() {
    return ctx == null ? null : ctx.channel().remoteAddress();
  }

  boolean isClosed() {
    return phase == Phase.CLOSED;
  }

  boolean isInHandshake() {
    Phase p = phase;
    return p == Phase.CLIENT_FLAGS || p == Phase.OPTIONS;
  }

  boolean isInTransmission() {
    return phase == Phase.TRANSMISSION;
  }

  long connectedAt() {
    return connectedAt;
  }

  long lastInput() {
    return lastInput;
  }

  long lastActivity() {
    return lastActivity;
  }

  int inFlightCount() {
    return inFlight;
  }

  /** Whether part of a request (or an option) is buffered or being discarded. */
  boolean hasPartialInput() {
    return partial;
  }

  /** Whether replies wait in the outbound buffer because the client does not read them. */
  boolean hasUnsentReplies() {
    return unwritableSince != 0;
  }

  /** When replies began to wait for the client to read them, or 0 if none wait. */
  long unwritableSince() {
    return unwritableSince;
  }

  /** Whether the connection reads from its socket: no backpressure pause holds. */
  boolean isReading() {
    return pauses == 0;
  }

  /** Budget bytes this connection holds (input and in-flight requests). */
  long heldBytes() {
    return held;
  }
}
