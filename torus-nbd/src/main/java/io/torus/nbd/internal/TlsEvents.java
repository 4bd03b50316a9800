package io.torus.nbd.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.nio.channels.ClosedChannelException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of a connection's TLS handshake, just above its {@link SslHandler}: a success is
 * logged at DEBUG; a failure closes the connection with one WARN line (rate-limited, the cause
 * cut to 200 characters: Netty's "not an SSL record" error carries the whole record) and
 * swallows the errors the closing stream raises after it; a client that went away during the
 * handshake is logged at DEBUG. Event loop only.
 */
final class TlsEvents extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);

  private final NbdConnection connection;
  private final ServerState server;
  private boolean failed;

  TlsEvents(NbdConnection connection, ServerState server) {
    this.connection = connection;
    this.server = server;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!(evt instanceof SslHandshakeCompletionEvent e)) {
      ctx.fireUserEventTriggered(evt);
      return;
    }
    Object remote = ctx.channel().remoteAddress();
    if (e.isSuccess()) {
      LOG.debug("TLS with {}: {}", remote, ctx.pipeline().get(SslHandler.class)
          .engine().getSession().getProtocol());
    } else if (e.cause() instanceof ClosedChannelException) {
      failed = true; // the client went away during the handshake: nothing to report
      LOG.debug("TLS handshake with {} cut short: connection closed", remote);
    } else if (!connection.isClosed()) {
      failed = true;
      server.tlsLog().warn("NBD TLS handshake with " + remote + " failed, closing: "
          + rootMessage(e.cause()), null);
      connection.close();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!failed) {
      ctx.fireExceptionCaught(cause);
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    String m = c == t ? t.toString() : t.getClass().getSimpleName() + ": " + c;
    return m.length() <= 200 ? m : m.substring(0, 200) + "...";
  }
}
