package io.torus.archfixture;

import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;

/** Breaks the transport rule: Netty's TLS builder outside the etcd package's TLS hook. */
public final class NettyTlsOutsideEtcdPackage {
  private NettyTlsOutsideEtcdPackage() {}

  /** A client TLS builder that trusts {@code ca}. */
  public static SslContextBuilder trusting(File ca) {
    return SslContextBuilder.forClient().trustManager(ca);
  }
}
