package io.torus.examples.cli;

import io.torus.TlsConfig;
import io.torus.KeyProviders;
import io.torus.TorusBuilder;
import io.torus.spi.KeyProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * How a command reaches a cluster and proves who it is: the etcd endpoints and prefix, TLS to
 * etcd, etcd authentication and peer mutual TLS. A mixin of every command that talks to a
 * cluster ({@code node} directly, the others through {@link NodeOptions}).
 *
 * <p>Each option not on the command line comes from its environment variable, then from the
 * {@code --config} file, then from its built-in default (see {@link OptionSources}). The etcd
 * password is never an argument: it is read from {@code --etcd-password-file} given on the
 * command line, else {@code $TORUS_ETCD_PASSWORD}, else the password file named by
 * {@code $TORUS_ETCD_PASSWORD_FILE} or the config file.
 *
 * <p>Errors ({@link UsageError}, exit 2) name the options and files involved, never a password
 * or the content of a file.
 */
class ClusterOptions {
  @Option(names = "--etcd", paramLabel = "URLS",
      description = "etcd client URLs of the cluster, comma-separated, e.g."
          + " http://127.0.0.1:2379; https:// is assumed when --etcd-ca is set"
          + " (env: $TORUS_ETCD).")
  String etcd;

  @Option(names = "--etcd-prefix", defaultValue = "/torus", paramLabel = "PREFIX",
      description = "etcd key prefix of the cluster (env: $TORUS_ETCD_PREFIX;"
          + " default: ${DEFAULT-VALUE}).")
  String etcdPrefix;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Java-properties file with any of these options, keyed by long name"
          + " without --, e.g. etcd-ca=/etc/torus/ca.crt. Precedence: command line >"
          + " environment > config file > default (env: $TORUS_CONFIG).")
  Path config;

  @Option(names = "--etcd-ca", paramLabel = "FILE",
      description = "PEM CA certificate(s) to verify etcd's server certificate: TLS to etcd"
          + " (env: $TORUS_ETCD_CA).")
  Path etcdCa;

  @Option(names = "--etcd-cert", paramLabel = "FILE",
      description = "PEM client certificate for etcd's --client-cert-auth; with --etcd-key"
          + " and --etcd-ca (env: $TORUS_ETCD_CERT).")
  Path etcdCert;

  @Option(names = "--etcd-key", paramLabel = "FILE",
      description = "Unencrypted PKCS#8 PEM key of --etcd-cert (env: $TORUS_ETCD_KEY).")
  Path etcdKey;

  @Option(names = "--etcd-user", paramLabel = "NAME",
      description = "etcd user to authenticate as; the password comes from"
          + " --etcd-password-file or $TORUS_ETCD_PASSWORD (env: $TORUS_ETCD_USER).")
  String etcdUser;

  @Option(names = "--etcd-password-file", paramLabel = "FILE",
      description = "File whose first line is the etcd user's password"
          + " (env: $TORUS_ETCD_PASSWORD_FILE).")
  Path etcdPasswordFile;

  @Option(names = "--peer-tls-cert", paramLabel = "FILE",
      description = "PEM certificate chain of this node for peer mutual TLS; with"
          + " --peer-tls-key and --peer-tls-ca (env: $TORUS_PEER_TLS_CERT).")
  Path peerTlsCert;

  @Option(names = "--peer-tls-key", paramLabel = "FILE",
      description = "Unencrypted PKCS#8 PEM key of --peer-tls-cert"
          + " (env: $TORUS_PEER_TLS_KEY).")
  Path peerTlsKey;

  @Option(names = "--peer-tls-ca", paramLabel = "FILE",
      description = "PEM CA certificate that signs every peer of the cluster"
          + " (env: $TORUS_PEER_TLS_CA).")
  Path peerTlsCa;

  @Option(names = "--key-file", paramLabel = "FILE",
      description = "File with a 256-bit key-encryption key (64 hex digits; 'torus key"
          + " generate' writes one): creates encrypted volumes (--encrypt) and opens those it"
          + " wrapped (env: $TORUS_KEY_FILE).")
  Path keyFile;

  @Option(names = "--key-env", paramLabel = "VAR",
      description = "Name of an environment variable holding a key-encryption key, like"
          + " --key-file (env: $TORUS_KEY_ENV).")
  String keyEnv;

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  /** The key-encryption keys of {@code --key-file} and {@code --key-env}, in that order. */
  List<KeyProvider> keyProviders() {
    List<KeyProvider> out = new ArrayList<>();
    try {
      if (keyFile != null) {
        out.add(KeyProviders.keyFile(keyFile));
      }
      if (keyEnv != null && !keyEnv.isEmpty()) {
        out.add(KeyProviders.environment(keyEnv));
      }
    } catch (io.torus.EncryptionKeyException e) {
      throw new UsageError(e.getMessage());
    }
    return out;
  }

  /** The etcd endpoints; fails with how to give them if there are none. */
  List<String> endpoints() {
    List<String> out = endpoints(etcd, etcdCa != null ? "https://" : "http://");
    if (etcdCa != null) {
      for (String u : out) {
        if (!u.startsWith("https://")) {
          throw new UsageError("--etcd-ca needs https:// etcd endpoints: " + u);
        }
      }
    }
    return out;
  }

  /**
   * The comma-separated URLs in {@code etcd}, {@code scheme} added where missing; fails with
   * how to give them if there are none.
   */
  static List<String> endpoints(String etcd, String scheme) {
    if (etcd == null || etcd.isBlank()) {
      throw new IllegalArgumentException("no etcd given: use --etcd URLS or set "
          + NodeOptions.ENV);
    }
    List<String> out = new ArrayList<>();
    for (String s : etcd.split(",")) {
      String u = s.trim();
      if (!u.isEmpty()) {
        out.add(u.contains("://") ? u : scheme + u);
      }
    }
    return out;
  }

  /**
   * Applies the endpoints, prefix and every security setting to {@code b}, after checking
   * them.
   *
   * @throws UsageError for options that go together given alone, unreadable files, or a
   *     user without a password
   */
  TorusBuilder configure(TorusBuilder b) {
    b.etcd(endpoints()).etcdPrefix(etcdPrefix);
    keyProviders().forEach(b::keyProvider);
    TlsConfig peer = peerTls();
    if (peer != null) {
      b.tls(peer);
    }
    TlsConfig etcdTls = etcdTls();
    if (etcdTls != null) {
      b.etcdTls(etcdTls);
    }
    String user = etcdUser == null || etcdUser.isEmpty() ? null : etcdUser;
    char[] password = password(user);
    if (user != null) {
      b.etcdCredentials(user, password);
      java.util.Arrays.fill(password, '\0');
    }
    return b;
  }

  /** Peer mutual TLS, or null if none of its options is set. */
  TlsConfig peerTls() {
    if (peerTlsCert == null && peerTlsKey == null && peerTlsCa == null) {
      return null;
    }
    List<String> missing = new ArrayList<>();
    if (peerTlsCert == null) {
      missing.add("--peer-tls-cert");
    }
    if (peerTlsKey == null) {
      missing.add("--peer-tls-key");
    }
    if (peerTlsCa == null) {
      missing.add("--peer-tls-ca");
    }
    if (!missing.isEmpty()) {
      throw new UsageError("--peer-tls-cert, --peer-tls-key and --peer-tls-ca go together:"
          + " missing " + String.join(", ", missing));
    }
    readable("--peer-tls-cert", peerTlsCert);
    readable("--peer-tls-key", peerTlsKey);
    readable("--peer-tls-ca", peerTlsCa);
    return TlsConfig.ofPem(peerTlsCa, peerTlsCert, peerTlsKey);
  }

  /** TLS to etcd (trust only, or with a client certificate), or null without. */
  TlsConfig etcdTls() {
    if ((etcdCert == null) != (etcdKey == null)) {
      throw new UsageError("--etcd-cert and --etcd-key go together: missing "
          + (etcdCert == null ? "--etcd-cert" : "--etcd-key"));
    }
    if (etcdCert != null && etcdCa == null) {
      throw new UsageError("--etcd-cert needs --etcd-ca (the CA of etcd's server"
          + " certificate)");
    }
    if (etcdCa == null) {
      return null;
    }
    readable("--etcd-ca", etcdCa);
    if (etcdCert == null) {
      return TlsConfig.trustOnly(etcdCa);
    }
    readable("--etcd-cert", etcdCert);
    readable("--etcd-key", etcdKey);
    return TlsConfig.ofPem(etcdCa, etcdCert, etcdKey);
  }

  /**
   * The etcd password for {@code user} (null: none wanted), by precedence: a password file on
   * the command line, {@code $TORUS_ETCD_PASSWORD}, a password file from the environment or
   * the config file. The caller clears the array.
   */
  char[] password(String user) {
    OptionSources sources = sources();
    String fromEnv = sources.env(OptionSources.PASSWORD_ENV);
    String fileEnv = OptionSources.envName("etcd-password-file");
    if (fromEnv != null && sources.env(fileEnv) != null) {
      throw new UsageError("set only one of $" + OptionSources.PASSWORD_ENV + " and $"
          + fileEnv);
    }
    boolean fileOnCommandLine = mixee != null && mixee.commandLine() != null
        && mixee.commandLine().getParseResult() != null
        && mixee.commandLine().getParseResult().hasMatchedOption("--etcd-password-file");
    if (user == null) {
      if (fileOnCommandLine || etcdPasswordFile != null && fromEnv == null) {
        throw new UsageError("--etcd-password-file needs --etcd-user");
      }
      return null; // $TORUS_ETCD_PASSWORD alone is ignored, like any unused variable
    }
    if (fromEnv != null && !fileOnCommandLine) {
      return fromEnv.toCharArray();
    }
    if (etcdPasswordFile == null) {
      throw new UsageError("--etcd-user " + user + " needs a password: give"
          + " --etcd-password-file FILE or set $" + OptionSources.PASSWORD_ENV);
    }
    return readPassword(etcdPasswordFile);
  }

  /** The first line of {@code file}, without its line end; never echoes the content. */
  static char[] readPassword(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UsageError("--etcd-password-file: cannot read " + file + ": "
          + OptionSources.reason(e));
    }
    int end = 0;
    while (end < text.length() && text.charAt(end) != '\n' && text.charAt(end) != '\r') {
      end++;
    }
    if (end == 0) {
      throw new UsageError("--etcd-password-file: " + file + " holds no password on its"
          + " first line");
    }
    return text.substring(0, end).toCharArray();
  }

  private OptionSources sources() {
    CommandLine cl = mixee == null ? null : mixee.commandLine();
    if (cl != null && cl.getDefaultValueProvider() instanceof OptionSources) {
      return (OptionSources) cl.getDefaultValueProvider();
    }
    return OptionSources.load(System.getenv());
  }

  private static void readable(String option, Path p) {
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw new UsageError(option + ": not a readable file: " + p);
    }
  }
}
