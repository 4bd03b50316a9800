package io.torus.internal.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.torus.TlsConfig;
import io.torus.TorusClosedException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The client side of the peer protocol for one node: the event loops and one
 * {@link PeerClient} (a small pool of connections) per remote address.
 *
 * <p>Thread-safe. Futures of every client complete on the callback executor given here,
 * never on an event loop. {@link #close()} fails whatever is still in flight and releases
 * the event loops.
 */
public final class PeerTransport implements AutoCloseable {
  static final String THREAD_PREFIX = "torus-peer-client";

  final EventLoopGroup group;
  private final boolean ownsGroup;
  final TransportOptions options;
  final PeerTls tls;
  private final Executor callbacks;
  private final String nodeId;
  private final byte[] clusterToken;
  private final Map<InetSocketAddress, PeerClient> clients = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param nodeId this node's id, sent in the handshake
   * @param options connection and request settings
   * @param callbacks completes every future (must not be an event loop)
   */
  public PeerTransport(String nodeId, TransportOptions options, Executor callbacks) {
    this(nodeId, options, callbacks, null);
  }

  /**
   * A transport whose connections use mutual TLS when {@code tls} is given: each presents
   * this node's certificate and accepts only servers whose certificate chains to the
   * configured CA (and, with {@link TlsConfig#verifyHostname()}, names the address dialled).
   *
   * @param nodeId this node's id, sent in the handshake
   * @param options connection and request settings
   * @param callbacks completes every future (must not be an event loop)
   * @param tls mutual TLS settings, or null for plain TCP
   * @throws io.torus.TorusException EINVAL for unusable TLS files
   */
  public PeerTransport(String nodeId, TransportOptions options, Executor callbacks,
      TlsConfig tls) {
    this(nodeId, options, callbacks, tls, null);
  }

  /**
   * A transport whose token-authorized requests ({@link PeerClient#delete(io.torus.spi.BlockRef,
   * java.time.Duration)}) carry {@code clusterToken}.
   *
   * @param nodeId this node's id, sent in the handshake
   * @param options connection and request settings
   * @param callbacks completes every future (must not be an event loop)
   * @param tls mutual TLS settings, or null for plain TCP
   * @param clusterToken the cluster's internal capability, or null for none
   * @throws io.torus.TorusException EINVAL for unusable TLS files
   */
  public PeerTransport(String nodeId, TransportOptions options, Executor callbacks,
      TlsConfig tls, byte[] clusterToken) {
    this(nodeId, options, callbacks, tls, clusterToken, null);
  }

  /**
   * A transport over shared event loops ({@code loops}, not shut down by {@link #close}), or
   * its own two loops if {@code loops} is null.
   */
  public PeerTransport(String nodeId, TransportOptions options, Executor callbacks,
      TlsConfig tls, byte[] clusterToken, EventLoops loops) {
    this.clusterToken = clusterToken == null ? null : clusterToken.clone();
    this.tls = PeerTls.client(tls);
    this.nodeId = nodeId;
    this.options = options;
    this.callbacks = callbacks;
    this.ownsGroup = loops == null;
    this.group = loops == null ? EventLoops.group(2, THREAD_PREFIX) : loops.client;
  }

  /** The settings in force. */
  public TransportOptions options() {
    return options;
  }

  String nodeId() {
    return nodeId;
  }

  /** The cluster token sent with token-authorized requests, or null. */
  byte[] clusterToken() {
    return clusterToken;
  }

  /** The client for a peer address (created on first use; connections open lazily). */
  public PeerClient client(InetSocketAddress address) {
    if (closed) {
      throw new TorusClosedException("peer transport is closed");
    }
    return clients.computeIfAbsent(address, a -> new PeerClient(this, a));
  }

  /** Runs {@code r} on the callback executor (falling back if it was shut down). */
  void complete(Runnable r) {
    try {
      callbacks.execute(r);
    } catch (RejectedExecutionException e) {
      ForkJoinPool.commonPool().execute(r);
    }
  }

  /** Whether the current thread is one of this transport's event loops. */
  static boolean onEventLoop() {
    Thread t = Thread.currentThread();
    return t instanceof FastThreadLocalThread && t.getName().startsWith("torus-peer");
  }

  /**
   * Closes every client (failing its in-flight requests) and the event loops this transport
   * made itself. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    clients.values().forEach(PeerClient::close);
    clients.clear();
    if (ownsGroup) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
