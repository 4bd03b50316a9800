package io.torus.internal.meta.etcd.archfixture;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.Status;
import java.io.File;

/**
 * Keeps the etcd and transport rules: jetcd and gRPC inside
 * {@code io.torus.internal.meta.etcd}, and Netty's {@code SslContextBuilder} only through
 * jetcd's TLS hook.
 */
public final class JetcdInEtcdPackage {
  private JetcdInEtcdPackage() {}

  /** The key as etcd bytes. */
  public static ByteSequence key(String key) {
    return ByteSequence.from(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Whether the failure was etcd being unreachable. */
  public static boolean unavailable(Throwable t) {
    return Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE;
  }

  /** A client that trusts {@code ca}. */
  public static Client client(String endpoint, File ca) throws javax.net.ssl.SSLException {
    ClientBuilder b = Client.builder().endpoints(endpoint);
    b.sslContext(ssl -> ssl.trustManager(ca));
    return b.build();
  }
}
