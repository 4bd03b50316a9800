package io.torus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Mutual TLS settings from PEM files: the CA that signs every trusted certificate, this side's
 * own certificate chain, and its private key. Used for the peer protocol
 * ({@link TorusBuilder#tls}) and for the connection to etcd ({@link TorusBuilder#etcdTls}).
 * For etcd only, the settings may also be {@linkplain #trustOnly trust only}: verify the
 * server against the CA and present no certificate.
 *
 * <p>The peer protocol with TLS admits exactly the connections whose certificate chains up to
 * {@link #caCertificate()}: the CA defines the cluster's membership. Both sides present their
 * certificate (client authentication is required). Whether the name in the server's
 * certificate must match the address dialled is {@link #verifyHostname()}; it is off by
 * default, because peers dial the addresses peers registered in etcd (often plain IPs, or an
 * address behind NAT), and a certificate from the cluster's CA is what makes a peer a peer.
 * Use a CA dedicated to the cluster.
 *
 * <p>The files are read when a node starts (a bad file fails {@link TorusBuilder#build()} with
 * {@link ErrorCode#EINVAL}); replacing them later has no effect on a running node.
 *
 * @param caCertificate PEM file with one or more CA certificates to trust
 * @param certificateChain PEM file with this side's certificate, then any intermediates; null
 *     (with {@code privateKey}) for trust-only settings
 * @param privateKey unencrypted PKCS#8 PEM file ({@code -----BEGIN PRIVATE KEY-----}) of the
 *     certificate's key, RSA or EC; convert a traditional key with
 *     {@code openssl pkcs8 -topk8 -nocrypt}; null (with {@code certificateChain}) for
 *     trust-only settings
 * @param verifyHostname whether a client also checks that the server certificate's subject
 *     alternative names contain the host (name or IP) it connected to
 */
public record TlsConfig(Path caCertificate, Path certificateChain, Path privateKey,
    boolean verifyHostname) {

  /**
   * Validates the paths.
   *
   * @throws NullPointerException if {@code caCertificate} is null
   * @throws TorusException EINVAL naming a file that is not a readable regular file, or if
   *     exactly one of {@code certificateChain} and {@code privateKey} is null
   */
  public TlsConfig {
    Objects.requireNonNull(caCertificate, "caCertificate");
    if ((certificateChain == null) != (privateKey == null)) {
      throw TorusException.invalid("TLS certificate chain and private key go together: "
          + (certificateChain == null ? "no certificate chain" : "no private key"));
    }
    readable("CA certificate", caCertificate);
    if (certificateChain != null) {
      readable("certificate chain", certificateChain);
      readable("private key", privateKey);
    }
  }

  /**
   * Trust-only settings for etcd: verify the servers against {@code ca}, present no
   * certificate (for etcd serving TLS without {@code --client-cert-auth}). Not valid for the
   * peer protocol, which is always mutual.
   *
   * @throws TorusException EINVAL if the file cannot be read
   */
  public static TlsConfig trustOnly(Path ca) {
    return new TlsConfig(ca, null, null, false);
  }

  /** Whether this side presents a certificate (false for {@link #trustOnly} settings). */
  public boolean hasCertificate() {
    return certificateChain != null;
  }

  /**
   * Mutual TLS from PEM files, without hostname verification.
   *
   * @param ca the CA certificate(s) to trust
   * @param certificateChain this side's certificate chain
   * @param privateKey its unencrypted PKCS#8 private key
   * @throws TorusException EINVAL if a file cannot be read
   */
  public static TlsConfig ofPem(Path ca, Path certificateChain, Path privateKey) {
    return new TlsConfig(ca, certificateChain, privateKey, false);
  }

  /** These settings with hostname verification on or off. */
  public TlsConfig withHostnameVerification(boolean verify) {
    return new TlsConfig(caCertificate, certificateChain, privateKey, verify);
  }

  private static void readable(String what, Path p) {
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw TorusException.invalid("TLS " + what + " is not a readable file: " + p);
    }
  }
}
