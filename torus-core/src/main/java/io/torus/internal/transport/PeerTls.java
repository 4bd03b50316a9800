package io.torus.internal.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.torus.ErrorCode;
import io.torus.TlsConfig;
import io.torus.TorusException;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mutual TLS for the peer protocol: the JDK's TLS (1.3 or 1.2) under the unchanged frames, on
 * the same port. Built once per server or transport from a {@link TlsConfig}; the Netty
 * {@link SslContext} it holds is immutable and shared by every connection.
 *
 * <p>Server: requires a client certificate that chains to the configured CA; a plain-TCP
 * client, a client without a certificate, or with one from another CA fails the handshake and
 * its connection is closed with one log line. Client: trusts only the configured CA and
 * presents its own certificate; checks the server's name only if
 * {@link TlsConfig#verifyHostname()}.
 *
 * <p>The {@link SslHandler} goes first in the pipeline; frames travel inside TLS records, and
 * writes issued before the handshake completes are queued by the handler until it does (or
 * fail with the handshake's error).
 */
final class PeerTls {
  private static final Logger log = LoggerFactory.getLogger(PeerTls.class);
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final SslContext context;
  private final boolean server;

  private PeerTls(SslContext context, boolean server) {
    this.context = context;
    this.server = server;
  }

  /**
   * The server side, or null for plain TCP.
   *
   * @throws TorusException EINVAL if a file does not hold what it should
   */
  static PeerTls server(TlsConfig c) {
    if (c == null) {
      return null;
    }
    try {
      SslContext ctx = SslContextBuilder
          .forServer(c.certificateChain().toFile(), c.privateKey().toFile())
          .trustManager(c.caCertificate().toFile())
          .clientAuth(ClientAuth.REQUIRE)
          .sslProvider(SslProvider.JDK)
          .protocols(PROTOCOLS)
          .build();
      return new PeerTls(ctx, true);
    } catch (SSLException | IllegalArgumentException e) {
      throw bad(c, e);
    }
  }

  /**
   * The client side, or null for plain TCP.
   *
   * @throws TorusException EINVAL if a file does not hold what it should
   */
  static PeerTls client(TlsConfig c) {
    if (c == null) {
      return null;
    }
    try {
      SslContext ctx = SslContextBuilder.forClient()
          .keyManager(c.certificateChain().toFile(), c.privateKey().toFile())
          .trustManager(c.caCertificate().toFile())
          .sslProvider(SslProvider.JDK)
          .protocols(PROTOCOLS)
          .endpointIdentificationAlgorithm(c.verifyHostname() ? "HTTPS" : null)
          .build();
      return new PeerTls(ctx, false);
    } catch (SSLException | IllegalArgumentException e) {
      throw bad(c, e);
    }
  }

  private static TorusException bad(TlsConfig c, Exception e) {
    return new TorusException(ErrorCode.EINVAL, "bad peer TLS settings (CA "
        + c.caCertificate() + ", certificate " + c.certificateChain() + ", key "
        + c.privateKey() + "): " + e, e);
  }

  /**
   * Puts TLS first in a new connection's pipeline.
   *
   * @param remote the peer dialled (client side; used for the hostname check), or null
   * @param handshakeTimeout how long the handshake may take before the connection closes
   * @return the handler, whose {@link SslHandler#handshakeFuture()} tells how it went
   */
  SslHandler install(SocketChannel ch, InetSocketAddress remote, Duration handshakeTimeout) {
    SslHandler h = remote == null ? context.newHandler(ch.alloc())
        : context.newHandler(ch.alloc(), remote.getHostString(), remote.getPort());
    h.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
    ch.pipeline().addFirst("tls", h);
    if (server) {
      ch.pipeline().addAfter("tls", "tls-gate", new ServerGate());
    }
    return h;
  }

  /** The subject of the certificate the other side presented, for log lines. */
  static String peerSubject(SslHandler h) {
    try {
      Certificate[] chain = h.engine().getSession().getPeerCertificates();
      if (chain.length > 0 && chain[0] instanceof X509Certificate) {
        return ((X509Certificate) chain[0]).getSubjectX500Principal().getName();
      }
    } catch (SSLPeerUnverifiedException e) {
      // No certificate: nothing to name.
    }
    return "(no certificate)";
  }

  /**
   * Logs the outcome of a server-side handshake: a refused connection is one warning naming
   * the remote address and the reason; the errors the refusal raises afterwards are not
   * logged again. Removes itself once the handshake succeeded.
   */
  private static final class ServerGate extends ChannelInboundHandlerAdapter {
    private boolean failed;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent) {
        SslHandshakeCompletionEvent e = (SslHandshakeCompletionEvent) evt;
        if (e.isSuccess()) {
          SslHandler h = ctx.pipeline().get(SslHandler.class);
          log.debug("TLS peer connection from {} as {}", ctx.channel().remoteAddress(),
              peerSubject(h));
          ctx.pipeline().remove(this);
        } else {
          failed = true;
          log.warn("refusing peer connection from {}: TLS handshake failed: {}",
              ctx.channel().remoteAddress(), e.cause().toString());
          ctx.close();
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (failed) {
        ctx.close();
        return;
      }
      ctx.fireExceptionCaught(cause);
    }
  }
}
