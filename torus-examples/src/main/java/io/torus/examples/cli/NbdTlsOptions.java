package io.torus.examples.cli;

import io.torus.nbd.NbdTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * TLS for the NBD export of {@code torus nbd} and {@code torus demo} ({@code NBD_OPT_STARTTLS}):
 * the server's certificate and key, optionally the CA that client certificates must chain to,
 * and the mode. Like {@link ClusterOptions}, each option not on the command line comes from
 * its environment variable ({@code $TORUS_TLS_CERT}, ...) or the {@code --config} file
 * ({@code tls-cert=...}), see {@link OptionSources}.
 *
 * <p>Errors ({@link UsageError}, exit 2) name the options and files involved.
 */
final class NbdTlsOptions {
  @Option(names = "--tls-cert", paramLabel = "FILE",
      description = "PEM certificate chain of the NBD server: serve NBD over TLS"
          + " (STARTTLS); with --tls-key (env: $TORUS_TLS_CERT).")
  Path cert;

  @Option(names = "--tls-key", paramLabel = "FILE",
      description = "Unencrypted PKCS#8 PEM key of --tls-cert (env: $TORUS_TLS_KEY).")
  Path key;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "PEM CA certificate(s) that NBD client certificates must chain to;"
          + " needed by --tls-verify-client (env: $TORUS_TLS_CA).")
  Path ca;

  @Option(names = "--tls-verify-client",
      description = "Require an NBD client certificate signed by --tls-ca"
          + " (env: $TORUS_TLS_VERIFY_CLIENT=true).")
  boolean verifyClient;

  @Option(names = "--tls-mode", paramLabel = "forced|optional",
      description = "forced: clients must use TLS (default with --tls-cert); optional:"
          + " plaintext clients are served too (env: $TORUS_TLS_MODE).")
  String mode;

  /**
   * The TLS settings, or null if none were given.
   *
   * @throws UsageError for options that go together given alone, a bad mode or an
   *     unreadable file
   */
  NbdTls tls() {
    if (cert == null && key == null) {
      String stray = ca != null ? "--tls-ca" : verifyClient ? "--tls-verify-client"
          : mode != null ? "--tls-mode" : null;
      if (stray != null) {
        throw new UsageError(stray + " needs --tls-cert and --tls-key");
      }
      return null;
    }
    if (cert == null || key == null) {
      throw new UsageError("--tls-cert and --tls-key go together: no "
          + (cert == null ? "--tls-cert" : "--tls-key"));
    }
    if (verifyClient && ca == null) {
      throw new UsageError("--tls-verify-client needs --tls-ca (the CA of the client"
          + " certificates)");
    }
    NbdTls.Mode m = mode();
    readable("--tls-cert", cert);
    readable("--tls-key", key);
    if (ca != null) {
      readable("--tls-ca", ca);
    }
    return new NbdTls(cert, key, ca, m, verifyClient);
  }

  private NbdTls.Mode mode() {
    if (mode == null) {
      return NbdTls.Mode.FORCED;
    }
    switch (mode.toLowerCase(Locale.ROOT)) {
      case "forced":
        return NbdTls.Mode.FORCED;
      case "optional":
        return NbdTls.Mode.OPTIONAL;
      default:
        throw new UsageError("--tls-mode: forced or optional, not '" + mode + "'");
    }
  }

  private static void readable(String option, Path p) {
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw new UsageError(option + ": not a readable file: " + p);
    }
  }
}
