package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TlsConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The shared cluster options parsed in-process: precedence of command line, environment (a
 * map, never the real one), config file and default; the checks that give exit status 2; and
 * that no password reaches an error message.
 */
class ClusterOptionsTest {
  @TempDir
  Path dir;

  private final Map<String, String> env = new HashMap<>();
  private String err;

  /** Parses {@code torus ARGS} and returns the options of the (sub)command that would run. */
  private ClusterOptions parse(String... args) {
    CommandLine cl = TorusCommand.commandLine(OptionSources.load(env, args));
    CommandLine.ParseResult r = cl.parseArgs(args);
    while (r.hasSubcommand()) {
      r = r.subcommand();
    }
    Object command = r.commandSpec().userObject();
    for (java.lang.reflect.Field f : command.getClass().getDeclaredFields()) {
      if (ClusterOptions.class.isAssignableFrom(f.getType())) {
        try {
          f.setAccessible(true);
          return (ClusterOptions) f.get(command);
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    throw new AssertionError("no cluster options in " + command);
  }

  /** Runs {@code torus ARGS} with {@link #env}; stderr goes to {@link #err}. */
  private int run(String... args) {
    CapturedRun r = CapturedRun.of(env, args);
    err = r.err();
    return r.exit();
  }

  private Path file(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  private Path config(String content) throws Exception {
    return file("torus.properties", content);
  }

  @Test
  void commandLineBeatsEnvironmentBeatsConfigFileBeatsDefault() throws Exception {
    Path cfg = config("etcd=http://from-config:1\netcd-prefix=/cfg\netcd-user=cfg-user\n");
    assertThat(parse("volume", "list").etcd).isNull();
    assertThat(parse("volume", "list").etcdPrefix).isEqualTo("/torus");
    ClusterOptions c = parse("volume", "list", "--config", cfg.toString());
    assertThat(c.etcd).isEqualTo("http://from-config:1");
    assertThat(c.etcdPrefix).isEqualTo("/cfg");
    assertThat(c.etcdUser).isEqualTo("cfg-user");
    env.put("TORUS_ETCD", "http://from-env:1");
    env.put("TORUS_ETCD_USER", "env-user");
    c = parse("volume", "list", "--config=" + cfg);
    assertThat(c.etcd).isEqualTo("http://from-env:1");
    assertThat(c.etcdPrefix).isEqualTo("/cfg");
    assertThat(c.etcdUser).isEqualTo("env-user");
    c = parse("volume", "list", "--config", cfg.toString(), "--etcd", "http://cli:1",
        "--etcd-user", "cli-user");
    assertThat(c.etcd).isEqualTo("http://cli:1");
    assertThat(c.etcdUser).isEqualTo("cli-user");
    env.put("TORUS_CONFIG", cfg.toString());
    env.remove("TORUS_ETCD");
    assertThat(parse("status").etcd).as("config file from $TORUS_CONFIG")
        .isEqualTo("http://from-config:1");
  }

  @Test
  void everyOptionHasItsEnvironmentVariableAndConfigKey() throws Exception {
    Map<String, String> values = Map.of("etcd-ca", "ca.crt", "etcd-cert", "e.crt",
        "etcd-key", "e.key", "etcd-password-file", "pw", "peer-tls-cert", "p.crt",
        "peer-tls-key", "p.key", "peer-tls-ca", "pca.crt");
    for (Map.Entry<String, String> v : values.entrySet()) {
      env.put(OptionSources.envName(v.getKey()), "env-" + v.getValue());
    }
    assertThat(env).containsKeys("TORUS_ETCD_CA", "TORUS_ETCD_CERT", "TORUS_ETCD_KEY",
        "TORUS_ETCD_PASSWORD_FILE", "TORUS_PEER_TLS_CERT", "TORUS_PEER_TLS_KEY",
        "TORUS_PEER_TLS_CA");
    ClusterOptions c = parse("node", "--data", "d", "--capacity", "1GiB", "--listen", "h:1");
    assertThat(List.of(c.etcdCa, c.etcdCert, c.etcdKey, c.etcdPasswordFile, c.peerTlsCert,
        c.peerTlsKey, c.peerTlsCa)).extracting(Path::toString).containsExactly("env-ca.crt",
        "env-e.crt", "env-e.key", "env-pw", "env-p.crt", "env-p.key", "env-pca.crt");
    env.clear();
    StringBuilder props = new StringBuilder();
    values.forEach((k, v) -> props.append(k).append('=').append("cfg-").append(v).append('\n'));
    Path cfg = config(props.toString());
    c = parse("ring", "show", "--config", cfg.toString());
    assertThat(List.of(c.etcdCa, c.etcdCert, c.etcdKey, c.etcdPasswordFile, c.peerTlsCert,
        c.peerTlsKey, c.peerTlsCa)).extracting(Path::toString).containsExactly("cfg-ca.crt",
        "cfg-e.crt", "cfg-e.key", "cfg-pw", "cfg-p.crt", "cfg-p.key", "cfg-pca.crt");
  }

  @Test
  void everyClusterCommandTakesTheSecurityOptions() {
    List<List<String>> commands = List.of(List.of("node"), List.of("nbd"), List.of("init"),
        List.of("status"), List.of("peer", "list"), List.of("peer", "remove"),
        List.of("volume", "create"), List.of("volume", "list"), List.of("volume", "info"),
        List.of("volume", "resize"), List.of("volume", "delete"), List.of("volume", "clone"),
        List.of("volume", "export"), List.of("volume", "import"), List.of("snapshot", "create"),
        List.of("snapshot", "list"), List.of("snapshot", "delete"),
        List.of("snapshot", "restore"), List.of("ring", "show"),
        List.of("ring", "set-replication"));
    CommandLine root = TorusCommand.commandLine(OptionSources.load(env));
    for (List<String> c : commands) {
      CommandLine sub = root;
      for (String name : c) {
        sub = sub.getSubcommands().get(name);
      }
      assertThat(sub.getCommandSpec().options()).as("torus %s", c)
          .extracting(o -> o.longestName()).contains("--etcd", "--config", "--etcd-ca",
              "--etcd-cert", "--etcd-key", "--etcd-user", "--etcd-password-file",
              "--peer-tls-cert", "--peer-tls-key", "--peer-tls-ca");
    }
  }

  @Test
  void badConfigFilesAreOneLineUsageErrors() throws Exception {
    assertThat(run("volume", "list", "--config", dir.resolve("nope").toString())).isEqualTo(2);
    assertThat(err).isEqualTo("torus: cannot read config file " + dir.resolve("nope")
        + ": no such file" + System.lineSeparator());
    Path cfg = config("etcd=http://x:1\netcd-pasword-file=/tmp/pw\n");
    assertThat(run("volume", "list", "--config", cfg.toString())).isEqualTo(2);
    assertThat(err).startsWith("torus: config file " + cfg + ": unknown key(s)"
        + " [etcd-pasword-file]; known: [").hasLineCount(1);
  }

  @Test
  void optionsThatGoTogetherAreUsageErrors() throws Exception {
    Path f = file("x.pem", "x");
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--peer-tls-cert", f.toString()))
        .isEqualTo(2);
    assertThat(err).isEqualTo("torus: --peer-tls-cert, --peer-tls-key and --peer-tls-ca go"
        + " together: missing --peer-tls-key, --peer-tls-ca" + System.lineSeparator());
    assertThat(run("status", "--etcd", "https://127.0.0.1:1", "--etcd-ca", f.toString(),
        "--etcd-cert", f.toString())).isEqualTo(2);
    assertThat(err).contains("--etcd-cert and --etcd-key go together: missing --etcd-key");
    assertThat(run("status", "--etcd", "127.0.0.1:1", "--etcd-cert", f.toString(),
        "--etcd-key", f.toString())).isEqualTo(2);
    assertThat(err).contains("--etcd-cert needs --etcd-ca");
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-ca", f.toString()))
        .isEqualTo(2);
    assertThat(err).contains("--etcd-ca needs https:// etcd endpoints: http://127.0.0.1:1");
    assertThat(run("status", "--etcd", "127.0.0.1:1", "--etcd-ca",
        dir.resolve("missing.crt").toString())).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --etcd-ca: not a readable file: "
        + dir.resolve("missing.crt") + System.lineSeparator());
  }

  @Test
  void tlsSettingsFromTheOptions() throws Exception {
    Path ca = file("ca.crt", "ca");
    Path cert = file("n.crt", "c");
    Path key = file("n.key", "k");
    ClusterOptions c = parse("status", "--etcd", "127.0.0.1:2379", "--etcd-ca", ca.toString());
    assertThat(c.endpoints()).containsExactly("https://127.0.0.1:2379");
    assertThat(c.etcdTls()).isEqualTo(TlsConfig.trustOnly(ca));
    assertThat(c.peerTls()).isNull();
    c = parse("status", "--etcd-ca", ca.toString(), "--etcd-cert", cert.toString(),
        "--etcd-key", key.toString(), "--peer-tls-ca", ca.toString(), "--peer-tls-cert",
        cert.toString(), "--peer-tls-key", key.toString());
    assertThat(c.etcdTls()).isEqualTo(TlsConfig.ofPem(ca, cert, key));
    assertThat(c.peerTls()).isEqualTo(TlsConfig.ofPem(ca, cert, key));
  }

  @Test
  void thePasswordComesFromAFileOrTheEnvironmentByPrecedence() throws Exception {
    Path cliFile = file("cli.pw", "from-cli-file\n");
    Path cfgFile = file("cfg.pw", "from-config-file\r\nsecond line ignored\n");
    Path envFile = file("env.pw", "from-env-file");
    Path cfg = config("etcd-password-file=" + cfgFile + "\n");
    String[] base = {"status", "--etcd-user", "torus", "--config", cfg.toString()};
    assertThat(parse(base).password("torus")).isEqualTo("from-config-file".toCharArray());
    env.put("TORUS_ETCD_PASSWORD_FILE", envFile.toString());
    assertThat(parse(base).password("torus")).isEqualTo("from-env-file".toCharArray());
    env.remove("TORUS_ETCD_PASSWORD_FILE");
    env.put("TORUS_ETCD_PASSWORD", "from-env");
    assertThat(parse(base).password("torus")).as("$TORUS_ETCD_PASSWORD beats the config file")
        .isEqualTo("from-env".toCharArray());
    String[] withFile = {"status", "--etcd-user", "torus", "--etcd-password-file",
        cliFile.toString()};
    assertThat(parse(withFile).password("torus")).as("a file on the command line beats it")
        .isEqualTo("from-cli-file".toCharArray());
    env.put("TORUS_ETCD_PASSWORD_FILE", envFile.toString());
    assertThatThrownBy(() -> parse(base).password("torus")).isInstanceOf(UsageError.class)
        .hasMessage("set only one of $TORUS_ETCD_PASSWORD and $TORUS_ETCD_PASSWORD_FILE");
  }

  @Test
  void passwordErrorsAreUsageErrorsThatShowNoSecret() throws Exception {
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-user", "torus"))
        .isEqualTo(2);
    assertThat(err).isEqualTo("torus: --etcd-user torus needs a password: give"
        + " --etcd-password-file FILE or set $TORUS_ETCD_PASSWORD" + System.lineSeparator());
    Path pw = file("pw", "hunter2\n");
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-password-file",
        pw.toString())).isEqualTo(2);
    assertThat(err).contains("--etcd-password-file needs --etcd-user");
    Path empty = file("empty", "\nhunter2\n");
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-user", "torus",
        "--etcd-password-file", empty.toString())).isEqualTo(2);
    assertThat(err).contains("holds no password on its first line").doesNotContain("hunter2");
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-user", "torus",
        "--etcd-password-file", dir.resolve("none").toString())).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --etcd-password-file: cannot read " + dir.resolve("none")
        + ": no such file" + System.lineSeparator());
    if (!"root".equals(System.getProperty("user.name"))) { // root reads any file
      Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("---------"));
      assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-user", "torus",
          "--etcd-password-file", pw.toString())).isEqualTo(2);
      assertThat(err).contains("permission denied").doesNotContain("hunter2");
    }
    assertThat(run("status", "--etcd", "http://127.0.0.1:1", "--etcd-user", "torus",
        "--etcd-password-file", dir.toString())).isEqualTo(2);
    assertThat(err).contains("cannot read " + dir).hasLineCount(1);
  }
}
