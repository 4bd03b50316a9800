package io.torus.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.torus.BlockVolume;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.nbd.internal.NbdConnection;
import io.torus.nbd.internal.ServerLimits;
import io.torus.nbd.internal.ServerState;
import io.torus.nbd.internal.ServerTls;
import io.torus.nbd.internal.Transport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Network Block Device server exporting {@link BlockVolume}s to Linux, QEMU, libnbd
 * (nbdinfo, nbdsh, nbdcopy, nbdfuse) and fio over TCP.
 *
 * <p>Protocol: fixed newstyle handshake with {@code NO_ZEROES}; options EXPORT_NAME, ABORT,
 * LIST, INFO, GO, STRUCTURED_REPLY, LIST_META_CONTEXT and SET_META_CONTEXT
 * ({@code base:allocation}), and STARTTLS if {@linkplain Builder#tls TLS} is configured; commands READ, WRITE, FLUSH, TRIM, WRITE_ZEROES (NO_HOLE,
 * FAST_ZERO), BLOCK_STATUS and DISC, with FUA. Requests on one connection run concurrently
 * and are answered as they complete. Every connection to an export shares its one volume,
 * so {@code NBD_FLAG_CAN_MULTI_CONN} is advertised. The wire layouts are documented in
 * {@code src-docs/formats.md} and in the javadoc of the internal codec.
 *
 * <p>Lifecycle: {@link Builder#start()} binds and returns a running server; {@link #close()}
 * stops it: no new connections, buffered requests get {@code ESHUTDOWN}, in-flight requests
 * finish (up to the {@linkplain Builder#shutdownTimeout shutdown timeout}), then every
 * exported volume is flushed, and closed if its export says
 * {@link NbdExport.Builder#closeVolumeOnStop closeVolumeOnStop}. Otherwise the caller closes
 * its volumes after the server has stopped.
 *
 * <p>Slow and hostile clients: a handshake timeout, a read timeout for partial requests and
 * unread replies, an optional idle timeout, and one budget of {@linkplain
 * Builder#maxTotalInFlightBytes bytes in flight} for the whole server bound memory and work;
 * at the connection limit a newcomer evicts a parked connection instead of being refused.
 * Every error reply is logged at WARN with its cause, at most once a second per export.
 * {@link #stats()} exposes the counters.
 *
 * <p>Thread-safe. Several servers may run in one JVM, each with its own threads.
 */
public final class NbdServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);

  private final ServerState state;
  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final InetSocketAddress address;
  private final Duration shutdownTimeout;
  private final NbdTls tls;
  private final ScheduledFuture<?> sweeper;
  private boolean closed;

  private NbdServer(Builder b) {
    ServerLimits limits = new ServerLimits(b.maxConnections, b.maxInFlightRequests,
        b.maxInFlightBytes, b.maxTotalInFlightBytes, b.handshakeTimeout, b.readTimeout,
        b.idleTimeout);
    this.tls = b.tls;
    ServerTls serverTls = tls == null ? null : ServerTls.of(tls.certificateChain(),
        tls.privateKey(), tls.caCertificate(), tls.verifyClient(),
        tls.mode() == NbdTls.Mode.FORCED);
    this.state = new ServerState(b.exports, limits, serverTls, System::nanoTime);
    this.shutdownTimeout = b.shutdownTimeout;
    Transport transport = Transport.select();
    this.group = transport.group(b.ioThreads, "torus-nbd");
    try {
      ServerBootstrap boot = new ServerBootstrap()
          .group(group)
          .channel(transport.serverChannel())
          .option(ChannelOption.SO_BACKLOG, 256)
          // a server started again on its port while connections of the one before linger in
          // TIME_WAIT (after a crash or kill) binds at once instead of failing for a minute
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast("nbd", new NbdConnection(state));
            }
          });
      this.serverChannel = boot.bind(b.bindAddress, b.port).syncUninterruptibly().channel();
      this.address = (InetSocketAddress) serverChannel.localAddress();
      long period = sweepPeriodMillis(limits);
      this.sweeper = group.next().scheduleAtFixedRate(this::sweep, period, period,
          TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new TorusException(ErrorCode.EIO,
          "cannot bind NBD server to " + b.bindAddress + ":" + b.port + ": " + e, e);
    }
    LOG.info("NBD server on {} exporting {}{}", address, state.exports(), tls == null ? ""
        : " (TLS " + tls.mode().name().toLowerCase(java.util.Locale.ROOT)
            + (tls.verifyClient() ? ", client certificates verified)" : ")"));
  }

  /** A tenth of the shortest timeout, between 10 ms and 100 ms. */
  private static long sweepPeriodMillis(ServerLimits l) {
    long shortest = Math.min(l.handshakeTimeout().toMillis(), l.readTimeout().toMillis());
    if (l.idleTimeoutEnabled()) {
      shortest = Math.min(shortest, l.idleTimeout().toMillis());
    }
    return Math.max(10, Math.min(100, shortest / 10));
  }

  private void sweep() {
    try {
      state.sweep();
    } catch (RuntimeException e) {
      LOG.warn("NBD connection sweep failed", e);
    }
  }

  /** A builder; at least one export must be added before {@link Builder#start()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The address the server listens on (with the actual port if 0 was asked for). */
  public InetSocketAddress address() {
    return address;
  }

  /** The TCP port the server listens on. */
  public int port() {
    return address.getPort();
  }

  /**
   * The NBD URI of an export, as libnbd, qemu and fio accept it, for example
   * {@code nbd://127.0.0.1:10809/vol}; {@code nbds://} (TLS required by the client) if the
   * server {@linkplain NbdTls.Mode#FORCED forces} TLS. libnbd then looks for its
   * certificates in its default directory unless {@code ?tls-certificates=DIR} is appended.
   */
  public String uri(String exportName) {
    String host = address.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    String scheme = tls != null && tls.mode() == NbdTls.Mode.FORCED ? "nbds" : "nbd";
    return scheme + "://" + host + ":" + port() + "/" + exportName;
  }

  /** The TLS settings, or null if the server serves plaintext only. */
  public NbdTls tls() {
    return tls;
  }

  /** The exports in the order {@code NBD_OPT_LIST} shows them. */
  public List<NbdExport> exports() {
    return state.exports();
  }

  /** Connections currently open (in the handshake or in transmission). */
  public int connectionCount() {
    return state.connections().size();
  }

  /** Counters of this server's connections and memory, read now. Thread-safe. */
  public Stats stats() {
    return new Stats(state.connections().size(), state.inFlightBytes(),
        state.peakInFlightBytes(), state.evictions(), state.timeouts(), state.refusals());
  }

  /**
   * Counters of one server.
   *
   * @param connections open now (handshake or transmission)
   * @param inFlightBytes bytes held for clients now, as counted against
   *     {@link Builder#maxTotalInFlightBytes}: buffered input and WRITE payloads of
   *     connections in transmission, READ replies reserved or queued
   * @param peakInFlightBytes the largest {@code inFlightBytes} since the server started
   * @param evictions connections closed to make room for a newcomer or for memory
   * @param timeouts connections closed by the handshake, read or idle timeout
   * @param refusals connections refused because every open connection was busy
   */
  public record Stats(int connections, long inFlightBytes, long peakInFlightBytes,
      long evictions, long timeouts, long refusals) {}

  /**
   * Stops the server as described in the class doc and releases its threads. Blocks for at
   * most about twice the shutdown timeout. Idempotent.
   *
   * @throws TorusException if flushing or closing an exported volume failed (after every
   *     volume was attempted and the server's threads were released)
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + shutdownTimeout.toNanos();
    serverChannel.close().awaitUninterruptibly(shutdownTimeout.toMillis());
    sweeper.cancel(false);
    state.beginShutdown();
    while (!state.connections().isEmpty() && System.nanoTime() < deadline) {
      sleepQuietly(5);
    }
    for (NbdConnection c : state.connections()) {
      c.forceClose();
    }
    TorusException failure = releaseVolumes();
    group.shutdownGracefully(0, shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .awaitUninterruptibly(shutdownTimeout.toMillis() + 1000);
    LOG.info("NBD server on {} stopped", address);
    if (failure != null) {
      throw failure;
    }
  }

  private TorusException releaseVolumes() {
    Map<BlockVolume, Boolean> volumes = new IdentityHashMap<>();
    for (NbdExport e : state.exports()) {
      volumes.merge(e.volume(), e.closeVolumeOnStop(), Boolean::logicalOr);
    }
    TorusException failure = null;
    for (Map.Entry<BlockVolume, Boolean> v : volumes.entrySet()) {
      try {
        if (v.getValue()) {
          v.getKey().close();
        } else if (!v.getKey().isReadOnly()) {
          v.getKey().flush();
        }
      } catch (RuntimeException ex) {
        TorusException te = TorusException.of(ex);
        LOG.warn("flushing/closing volume {} failed: {}", v.getKey().name(), te.toString());
        if (failure == null) {
          failure = te;
        } else {
          failure.addSuppressed(te);
        }
      }
    }
    return failure;
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Builds and starts an {@link NbdServer}. Not thread-safe. */
  public static final class Builder {
    private InetAddress bindAddress;
    private int port = 10809;
    private final List<NbdExport> exports = new ArrayList<>();
    private int maxConnections = 1024;
    private int maxInFlightRequests = 128;
    private long maxInFlightBytes = 64L << 20;
    private long maxTotalInFlightBytes = 256L << 20;
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private Duration readTimeout = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ZERO;
    private Duration shutdownTimeout = Duration.ofSeconds(10);
    private int ioThreads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    private NbdTls tls;

    private Builder() {
      bindAddress = InetAddress.getLoopbackAddress();
    }

    /** The address to listen on. Default: the loopback address (127.0.0.1). */
    public Builder bindAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "address");
      return this;
    }

    /** The host name or literal address to listen on, resolved now. */
    public Builder bindAddress(String host) {
      try {
        return bindAddress(InetAddress.getByName(Objects.requireNonNull(host, "host")));
      } catch (UnknownHostException e) {
        throw TorusException.invalid("unknown bind address: " + host);
      }
    }

    /** The TCP port; 0 picks a free one (see {@link NbdServer#port()}). Default 10809. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw TorusException.invalid("port out of range: " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Adds an export. Names must be unique. The first export added is also served to
     * clients asking for the empty (default) name, unless one is named "".
     */
    public Builder addExport(NbdExport export) {
      Objects.requireNonNull(export, "export");
      for (NbdExport e : exports) {
        if (e.name().equals(export.name())) {
          throw TorusException.invalid("duplicate export name: " + export.name());
        }
      }
      exports.add(export);
      return this;
    }

    /** Adds a read-write export of {@code volume} named {@code name}, owned by the caller. */
    public Builder addExport(String name, BlockVolume volume) {
      return addExport(NbdExport.builder(name, volume).build());
    }

    /**
     * Connections open at once. A connection arriving when this many are open is still
     * served: the server closes a parked one to make room, in this order: the oldest still in
     * the handshake, then the one whose partly received request has gone longest without a
     * byte (at least a second), then the one idle for longest. Connections with requests in
     * flight are never evicted; only if every open connection has some is the newcomer
     * refused. Default 1024.
     */
    public Builder maxConnections(int max) {
      if (max < 1) {
        throw TorusException.invalid("maxConnections < 1: " + max);
      }
      this.maxConnections = max;
      return this;
    }

    /** Requests one connection may have in flight before it stops reading. Default 128. */
    public Builder maxInFlightRequests(int max) {
      if (max < 1) {
        throw TorusException.invalid("maxInFlightRequests < 1: " + max);
      }
      this.maxInFlightRequests = max;
      return this;
    }

    /**
     * Bytes of READ and WRITE payload one connection may have in flight before it stops
     * reading (one request may exceed it by up to 32 MiB). Default 64 MiB.
     */
    public Builder maxInFlightBytes(long bytes) {
      if (bytes < 1) {
        throw TorusException.invalid("maxInFlightBytes < 1: " + bytes);
      }
      this.maxInFlightBytes = bytes;
      return this;
    }

    /**
     * Bytes the whole server may hold for its clients: input buffered by connections in
     * transmission, WRITE payloads from their first byte until their reply is written, READ
     * replies from before they are allocated until they are written. A READ that does not
     * fit waits; past the cap connections stop reading. It can be exceeded by one socket
     * read (64 KiB) and one payload chunk (1 MiB) per connection, and by one partly received
     * WRITE at a time (at most 32 MiB) so that receiving always makes progress. Connections
     * stalled by their client for a second or more are evicted when others wait for room.
     * At least 32 MiB plus 1 MiB. Default 256 MiB.
     */
    public Builder maxTotalInFlightBytes(long bytes) {
      long min = (32L << 20) + (1L << 20);
      if (bytes < min) {
        throw TorusException.invalid("maxTotalInFlightBytes < " + min + ": " + bytes);
      }
      this.maxTotalInFlightBytes = bytes;
      return this;
    }

    /**
     * Time a client has from connecting to the end of option haggling (GO or EXPORT_NAME)
     * before it is disconnected. Default 10 s.
     */
    public Builder handshakeTimeout(Duration timeout) {
      this.handshakeTimeout = positive(timeout, "handshakeTimeout");
      return this;
    }

    /**
     * Time a partly received request (a WRITE payload, a request header) may go without a
     * byte arriving, and time replies may wait unsent because the client does not read
     * them, before the connection is closed. Time the server itself stopped reading (for
     * backpressure) does not count. Default 30 s.
     */
    public Builder readTimeout(Duration timeout) {
      this.readTimeout = positive(timeout, "readTimeout");
      return this;
    }

    /**
     * Time a connection in transmission may stay with no request in flight and nothing
     * buffered before it is closed; {@link Duration#ZERO} keeps idle connections open for
     * ever (they are still evicted, oldest first, when the connection limit is reached).
     * Default: zero, because the Linux kernel client and nbdfuse keep a mounted export's
     * connection idle for as long as the filesystem is quiet and do not reconnect.
     */
    public Builder idleTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative()) {
        throw TorusException.invalid("idleTimeout < 0: " + timeout);
      }
      this.idleTimeout = timeout;
      return this;
    }

    /** Time {@link NbdServer#close()} waits for in-flight requests. Default 10 s. */
    public Builder shutdownTimeout(Duration timeout) {
      this.shutdownTimeout = positive(timeout, "shutdownTimeout");
      return this;
    }

    /**
     * Offers TLS ({@code NBD_OPT_STARTTLS}) with these certificates, forced or optional, with
     * or without client certificate verification; null (the default) serves plaintext only
     * and answers STARTTLS with {@code NBD_REP_ERR_POLICY}. A failed TLS handshake (a bad
     * certificate, a plaintext byte stream where TLS was expected, a handshake that does not
     * finish within the handshake timeout) closes the connection and is logged at WARN, at
     * most once a second.
     */
    public Builder tls(NbdTls tls) {
      this.tls = tls;
      return this;
    }

    /** Event-loop threads. Default: the number of cores, at most 4. */
    public Builder ioThreads(int threads) {
      if (threads < 1) {
        throw TorusException.invalid("ioThreads < 1: " + threads);
      }
      this.ioThreads = threads;
      return this;
    }

    /**
     * Binds and starts the server.
     *
     * @throws TorusException EINVAL without exports or if the TLS files do not hold a
     *     certificate, key and CA, EIO if the address cannot be bound
     */
    public NbdServer start() {
      if (exports.isEmpty()) {
        throw TorusException.invalid("an NBD server needs at least one export");
      }
      return new NbdServer(this);
    }

    private static Duration positive(Duration d, String what) {
      if (d.isNegative() || d.isZero()) {
        throw TorusException.invalid(what + " must be > 0: " + d);
      }
      return d;
    }
  }
}
