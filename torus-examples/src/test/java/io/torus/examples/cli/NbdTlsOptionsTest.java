package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.nbd.NbdTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The NBD TLS options of {@code torus nbd} and {@code torus demo}, parsed in-process: the
 * settings they make, their environment variables and config keys, and the one-line usage
 * errors for combinations that do not make sense.
 */
class NbdTlsOptionsTest {
  @TempDir
  Path dir;

  private final Map<String, String> env = new HashMap<>();
  private String err;

  private NbdTlsOptions parse(String... args) throws Exception {
    CommandLine cl = TorusCommand.commandLine(OptionSources.load(env, args));
    CommandLine.ParseResult r = cl.parseArgs(args);
    while (r.hasSubcommand()) {
      r = r.subcommand();
    }
    Object command = r.commandSpec().userObject();
    java.lang.reflect.Field f = command.getClass().getDeclaredField("tls");
    f.setAccessible(true);
    return (NbdTlsOptions) f.get(command);
  }

  private int run(String... args) {
    CapturedRun r = CapturedRun.of(env, args);
    err = r.err();
    return r.exit();
  }

  private Path file(String name) throws Exception {
    return Files.writeString(dir.resolve(name), name);
  }

  @Test
  void settingsFromTheOptions() throws Exception {
    Path cert = file("s.crt");
    Path key = file("s.key");
    Path ca = file("ca.crt");
    assertThat(parse("nbd", "--data", "d", "v").tls()).isNull();
    assertThat(parse("nbd", "--data", "d", "--tls-cert", cert.toString(), "--tls-key",
        key.toString(), "v").tls()).isEqualTo(NbdTls.forced(cert, key));
    assertThat(parse("demo", "--tls-cert", cert.toString(), "--tls-key", key.toString(),
        "--tls-ca", ca.toString(), "--tls-verify-client", "--tls-mode", "optional").tls())
        .isEqualTo(new NbdTls(cert, key, ca, NbdTls.Mode.OPTIONAL, true));
  }

  @Test
  void environmentAndConfigFile() throws Exception {
    Path cert = file("s.crt");
    Path key = file("s.key");
    Path ca = file("ca.crt");
    env.put("TORUS_TLS_CERT", cert.toString());
    env.put("TORUS_TLS_KEY", key.toString());
    env.put("TORUS_TLS_CA", ca.toString());
    env.put("TORUS_TLS_VERIFY_CLIENT", "true");
    assertThat(parse("nbd", "--data", "d", "v").tls())
        .isEqualTo(new NbdTls(cert, key, ca, NbdTls.Mode.FORCED, true));
    env.clear();
    Path cfg = Files.writeString(dir.resolve("torus.properties"), "tls-cert=" + cert
        + "\ntls-key=" + key + "\ntls-mode=optional\n");
    NbdTls optional = new NbdTls(cert, key, null, NbdTls.Mode.OPTIONAL, false);
    assertThat(parse("nbd", "--data", "d", "--config", cfg.toString(), "v").tls())
        .isEqualTo(optional);
    env.put("TORUS_CONFIG", cfg.toString()); // demo has no --config option
    assertThat(parse("demo").tls()).isEqualTo(optional);
    assertThat(parse("demo", "--tls-mode", "forced").tls().mode())
        .isEqualTo(NbdTls.Mode.FORCED);
  }

  @Test
  void badCombinationsAreOneLineUsageErrors() throws Exception {
    Path f = file("x.pem");
    String nl = System.lineSeparator();
    assertThat(run("nbd", "--data", "d", "--tls-cert", f.toString(), "v")).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-cert and --tls-key go together: no --tls-key"
        + nl);
    assertThat(run("demo", "--tls-key", f.toString())).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-cert and --tls-key go together: no --tls-cert"
        + nl);
    assertThat(run("nbd", "--data", "d", "--tls-cert", f.toString(), "--tls-key",
        f.toString(), "--tls-verify-client", "v")).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-verify-client needs --tls-ca (the CA of the"
        + " client certificates)" + nl);
    assertThat(run("demo", "--tls-mode", "optional")).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-mode needs --tls-cert and --tls-key" + nl);
    assertThat(run("demo", "--tls-cert", f.toString(), "--tls-key", f.toString(),
        "--tls-mode", "sometimes")).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-mode: forced or optional, not 'sometimes'" + nl);
    assertThat(run("nbd", "--data", "d", "--tls-cert", f.toString(), "--tls-key",
        dir.resolve("missing.key").toString(), "v")).isEqualTo(2);
    assertThat(err).isEqualTo("torus: --tls-key: not a readable file: "
        + dir.resolve("missing.key") + nl);
  }
}
