package io.torus.nbd.internal;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * The server side of {@code NBD_OPT_STARTTLS}: the JDK's TLS (1.3 or 1.2) built once per
 * server from PEM files; the Netty {@link SslContext} it holds is immutable and shared by
 * every connection.
 *
 * <p>With client verification, a client must present a certificate that chains to the
 * configured CA, or its handshake fails. Without it, no certificate is asked for.
 */
public final class ServerTls {
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final SslContext context;
  private final boolean forced;

  private ServerTls(SslContext context, boolean forced) {
    this.context = context;
    this.forced = forced;
  }

  /**
   * Builds the context.
   *
   * @param ca CA certificates that client certificates must chain to; null without
   *     {@code verifyClient}
   * @param forced whether every option but ABORT and STARTTLS is refused before TLS
   * @throws TorusException EINVAL if a file does not hold what it should
   */
  public static ServerTls of(Path certificateChain, Path privateKey, Path ca,
      boolean verifyClient, boolean forced) {
    try {
      SslContextBuilder b = SslContextBuilder
          .forServer(certificateChain.toFile(), privateKey.toFile())
          .sslProvider(SslProvider.JDK)
          .protocols(PROTOCOLS)
          .clientAuth(verifyClient ? ClientAuth.REQUIRE : ClientAuth.NONE);
      if (ca != null) {
        b.trustManager(ca.toFile());
      }
      return new ServerTls(b.build(), forced);
    } catch (SSLException | IllegalArgumentException e) {
      throw new TorusException(ErrorCode.EINVAL, "bad NBD TLS settings (certificate "
          + certificateChain + ", key " + privateKey + ", CA " + ca + "): " + e, e);
    }
  }

  /** Whether clients must upgrade to TLS before any option other than ABORT is served. */
  boolean forced() {
    return forced;
  }

  /** A new server-side handler whose handshake fails after {@code timeout}. */
  SslHandler newHandler(ByteBufAllocator alloc, Duration timeout) {
    SslHandler h = context.newHandler(alloc);
    h.setHandshakeTimeoutMillis(Math.max(1, timeout.toMillis()));
    return h;
  }
}
