package io.torus.nbd;

import io.torus.TlsConfig;
import io.torus.TorusException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * TLS for an {@link NbdServer}: {@code NBD_OPT_STARTTLS} as the NBD protocol defines it. A
 * client sends STARTTLS during option haggling, the server answers ACK, both run a TLS
 * handshake (TLS 1.3 or 1.2, the JDK's) on the same connection and haggling goes on inside
 * it. libnbd ({@code nbds://} URIs, {@code nbd_set_tls}), qemu ({@code tls-creds-x509}) and
 * the Linux {@code nbd-client} speak it.
 *
 * <p>The files are read when the server starts: a bad file fails {@link
 * NbdServer.Builder#start()} with EINVAL; replacing them later has no effect on a running
 * server.
 *
 * @param certificateChain PEM file with the server's certificate, then any intermediates.
 *     Clients check it against their CA and, libnbd and qemu do, that its subject
 *     alternative names contain the host they dialled (an IP SAN for an address)
 * @param privateKey unencrypted PKCS#8 PEM file ({@code -----BEGIN PRIVATE KEY-----}) of the
 *     certificate's key, RSA or EC
 * @param caCertificate PEM file of the CA(s) client certificates must chain to; may be null
 *     unless {@code verifyClient}
 * @param mode whether plaintext clients are served
 * @param verifyClient whether a client must present a certificate that chains to
 *     {@code caCertificate}; a client without one, or with one from another CA, fails the
 *     handshake and is disconnected
 */
public record NbdTls(Path certificateChain, Path privateKey, Path caCertificate, Mode mode,
    boolean verifyClient) {

  /** Whether the server insists on TLS. */
  public enum Mode {
    /**
     * Every client must upgrade: before STARTTLS every option other than ABORT is answered
     * {@code NBD_REP_ERR_TLS_REQD}, and EXPORT_NAME (which has no error reply) closes the
     * connection. There is no downgrade. The default.
     */
    FORCED,
    /** Plaintext clients are served as without TLS; a client may upgrade with STARTTLS. */
    OPTIONAL
  }

  /**
   * Validates the settings.
   *
   * @throws NullPointerException if the chain, key or mode is null
   * @throws TorusException EINVAL naming a file that is not a readable regular file, or if
   *     {@code verifyClient} is set without a CA
   */
  public NbdTls {
    Objects.requireNonNull(certificateChain, "certificateChain");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(mode, "mode");
    if (verifyClient && caCertificate == null) {
      throw TorusException.invalid("verifying NBD client certificates needs a CA certificate");
    }
    readable("certificate chain", certificateChain);
    readable("private key", privateKey);
    if (caCertificate != null) {
      readable("CA certificate", caCertificate);
    }
  }

  /** Forced TLS with the given server certificate and key, no client certificates asked. */
  public static NbdTls forced(Path certificateChain, Path privateKey) {
    return new NbdTls(certificateChain, privateKey, null, Mode.FORCED, false);
  }

  /**
   * TLS with the files of {@code config}: its chain and key are the server's, its CA the one
   * client certificates are checked against if {@code verifyClient}. Hostname verification
   * in {@code config} does not apply (a server does not check client names).
   *
   * @throws TorusException EINVAL if {@code config} is trust-only (has no certificate)
   */
  public static NbdTls of(TlsConfig config, Mode mode, boolean verifyClient) {
    Objects.requireNonNull(config, "config");
    if (!config.hasCertificate()) {
      throw TorusException.invalid("an NBD server needs a certificate and key for TLS");
    }
    return new NbdTls(config.certificateChain(), config.privateKey(), config.caCertificate(),
        mode, verifyClient);
  }

  /** These settings in {@code mode}. */
  public NbdTls withMode(Mode mode) {
    return new NbdTls(certificateChain, privateKey, caCertificate, mode, verifyClient);
  }

  /** These settings requiring client certificates that chain to {@code ca}. */
  public NbdTls withClientVerification(Path ca) {
    return new NbdTls(certificateChain, privateKey, Objects.requireNonNull(ca, "ca"), mode,
        true);
  }

  private static void readable(String what, Path p) {
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw TorusException.invalid("NBD TLS " + what + " is not a readable file: " + p);
    }
  }
}
