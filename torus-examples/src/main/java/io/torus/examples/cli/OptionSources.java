package io.torus.examples.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where the {@link ClusterOptions} (and {@link NbdTlsOptions}) not given on the command line come from, in order: the
 * environment ({@code --etcd-ca} from {@code $TORUS_ETCD_CA}: {@code TORUS_}, then the long
 * name in capitals with {@code _} for {@code -}), then the Java-properties file of
 * {@code --config} (or {@code $TORUS_CONFIG}), keyed by the long name without {@code --}
 * ({@code etcd-ca=/etc/torus/etcd-ca.crt}), then the option's built-in default. The command
 * line beats all of them because picocli applies these defaults before it parses.
 *
 * <p>The config file is read once, before parsing, so {@code --config} is found by scanning
 * the arguments. The environment is a map given at construction: tests pass their own and the
 * process environment is never changed.
 */
final class OptionSources implements CommandLine.IDefaultValueProvider {
  /** The environment variable {@code --config} defaults to. */
  static final String CONFIG_ENV = "TORUS_CONFIG";
  /** The environment variable that holds the etcd password itself (not a file). */
  static final String PASSWORD_ENV = "TORUS_ETCD_PASSWORD";

  /** Long names (without {@code --}) of the options these sources fill. */
  static final Set<String> KEYS = java.util.stream.Stream.of(new ClusterOptions(),
          new NbdTlsOptions())
      .flatMap(o -> CommandLine.Model.CommandSpec.forAnnotatedObject(o).options().stream())
      .map(o -> o.longestName().substring(2)).collect(Collectors.toUnmodifiableSet());

  private final Map<String, String> env;
  private final Properties config;

  private OptionSources(Map<String, String> env, Properties config) {
    this.env = Map.copyOf(env);
    this.config = config;
  }

  /**
   * The sources for one command line: {@code env}, and the config file named by the last
   * {@code --config} in {@code args} (else by {@code $TORUS_CONFIG}), if any.
   *
   * @throws UsageError if the config file cannot be read or holds an unknown key
   */
  static OptionSources load(Map<String, String> env, String... args) {
    String file = configArgument(args);
    if (file == null) {
      file = env.get(CONFIG_ENV);
    }
    Properties p = new Properties();
    if (file != null && !file.isEmpty()) {
      Path path = Path.of(file);
      try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException | IllegalArgumentException e) {
        throw new UsageError("cannot read config file " + path + ": " + reason(e));
      }
      Set<String> unknown = new TreeSet<>(p.stringPropertyNames());
      unknown.removeAll(KEYS);
      unknown.remove("config");
      if (!unknown.isEmpty()) {
        throw new UsageError("config file " + path + ": unknown key(s) " + unknown
            + "; known: " + new TreeSet<>(KEYS));
      }
      p.remove("config");
    }
    return new OptionSources(env, p);
  }

  /** Why a file could not be read, without its content. */
  static String reason(Exception e) {
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof IllegalArgumentException || e instanceof java.nio.charset
        .CharacterCodingException) {
      return "not a properties file";
    }
    return e.getClass().getSimpleName();
  }

  private static String configArgument(String[] args) {
    String found = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--")) {
        break;
      } else if (args[i].equals("--config") && i + 1 < args.length) {
        found = args[++i];
      } else if (args[i].startsWith("--config=")) {
        found = args[i].substring("--config=".length());
      }
    }
    return found;
  }

  /** The environment variable of the option with long name {@code key}. */
  static String envName(String key) {
    return "TORUS_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  /** The value of environment variable {@code name}, or null. */
  String env(String name) {
    String v = env.get(name);
    return v == null || v.isEmpty() ? null : v;
  }

  /** The config file's value for {@code key}, or null. */
  String config(String key) {
    return config.getProperty(key);
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec)) {
      return null;
    }
    String key = ((OptionSpec) arg).longestName().substring(2);
    if (!KEYS.contains(key)) {
      return null;
    }
    String v = env(envName(key));
    return v != null ? v : config(key);
  }
}
