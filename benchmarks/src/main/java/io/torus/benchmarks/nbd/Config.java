package io.torus.benchmarks.nbd;

import io.torus.Erasure;
import io.torus.TorusException;
import io.torus.benchmarks.nbd.Setups.Setup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The options of one {@link NbdSideBySide} run.
 *
 * @param setups the setups to run, in order
 * @param seconds the cap of each fio job (and the default pgbench duration, clamped to 8–30)
 * @param sizeMiB the size of every export
 * @param jfr whether our JVMs record a JFR each (into {@code runDir/jfr/})
 * @param pgbenchSeconds pgbench run time; 0 skips pgbench
 * @param runDir where logs, JFRs and the results table go
 * @param tmpRoot the file system the data directories, nbdkit's file and the input live in
 * @param torusJar the {@code torus} jar setup (c) runs
 * @param benchClasspath the class path of this harness (for {@link LocalExportMain})
 * @param encrypted whether each setup also runs our side with an encrypted volume (the same
 *     jobs, a third column and the ratio encrypted/plain)
 * @param erasure null, or the policy of an erasure-coded volume that setup (c) also runs our
 *     side on, on the same cluster as the replicated one (the same jobs, a column and the
 *     ratio erasure/replicated); setups (a) and (b) ignore it
 */
record Config(List<Setup> setups, int seconds, long sizeMiB, boolean jfr, int pgbenchSeconds,
    Path runDir, Path tmpRoot, Path torusJar, String benchClasspath, boolean encrypted,
    Erasure erasure) {

  /** The peers setup (c) starts without {@code --erasure}. */
  static final int MIN_PEERS = 3;
  /** The heap of each peer JVM, up to {@link #FULL_HEAP_PEERS} peers. */
  static final int PEER_HEAP_MIB = 512;
  /** Past this many peers they share {@link #PEERS_HEAP_MIB} (at least 256 MiB each). */
  static final int FULL_HEAP_PEERS = 6;
  static final int PEERS_HEAP_MIB = 3072;

  static final String USAGE = String.join("\n",
      "usage: NbdSideBySide [--setups a,b,c] [--jfr] [--pgbench-seconds N] [--no-pgbench]",
      "                     [--encrypted] [--erasure K+M] [--out DIR] [--tmp DIR]",
      "                     [--torus-jar JAR] [seconds] [size-MiB]",
      "  --encrypted: also run our side on an encrypted volume (ratio encrypted/plain)",
      "  --erasure K+M: in setup c also run our side on a K+M erasure-coded volume on the",
      "      same cluster (ratio erasure/replicated); c then starts max(3, K+M) peers, each",
      "      -Xmx512m up to 6 peers, past that 3 GiB shared (at least 256 MiB each);",
      "      setups a and b ignore it (erasure coding needs a cluster)",
      "  setups: a = single node, memory store vs nbdkit memory",
      "          b = single node, file store vs nbdkit file",
      "          c = etcd + 3 torus node (file, R=2) + torus nbd vs nbdkit file",
      "  seconds: cap of each fio job (default 10); size-MiB: export size (default 1024)");

  /** The java launcher of this JVM, for the JVMs the harness starts. */
  String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  long sizeBytes() {
    return sizeMiB << 20;
  }

  /** The peers setup (c) starts: 3, or K+M if {@link #erasure} needs more. */
  int peers() {
    return erasure == null ? MIN_PEERS : Math.max(MIN_PEERS, erasure.totalShards());
  }

  /** The heap of each peer JVM of setup (c), in MiB, so that {@link #peers} of them fit. */
  int peerHeapMiB() {
    int n = peers();
    return n <= FULL_HEAP_PEERS ? PEER_HEAP_MIB : Math.max(256, PEERS_HEAP_MIB / n);
  }

  /** The JVM options that make our process {@code name} of setup {@code s} record a JFR. */
  List<String> jfrOptions(Setup s, String name) {
    if (!jfr) {
      return List.of();
    }
    Path f = runDir.resolve("jfr").resolve(s.key + "-" + name + ".jfr");
    return List.of("-XX:StartFlightRecording=filename=" + f + ",settings=profile,dumponexit=true");
  }

  /** Parses the command line; throws with {@link #USAGE} on a bad one. */
  static Config parse(String[] args) {
    List<Setup> setups = new ArrayList<>(List.of(Setup.values()));
    boolean jfr = false;
    boolean encrypted = false;
    Erasure erasure = null;
    Integer pgSeconds = null;
    Path out = Path.of("benchmarks", "target");
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    Path jar = Path.of("torus-examples", "target", "torus.jar");
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--setups" -> {
          setups.clear();
          for (String k : value(args, ++i, a).split(",")) {
            setups.add(Setup.of(k));
          }
        }
        case "--jfr" -> jfr = true;
        case "--encrypted" -> encrypted = true;
        case "--erasure" -> erasure = erasure(value(args, ++i, a));
        case "--pgbench-seconds" -> pgSeconds = Integer.parseInt(value(args, ++i, a));
        case "--no-pgbench" -> pgSeconds = 0;
        case "--out" -> out = Path.of(value(args, ++i, a));
        case "--tmp" -> tmp = Path.of(value(args, ++i, a));
        case "--torus-jar" -> jar = Path.of(value(args, ++i, a));
        case "-h", "--help" -> throw new IllegalArgumentException(USAGE);
        default -> {
          if (a.startsWith("-")) {
            throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
          }
          positional.add(a);
        }
      }
    }
    if (positional.size() > 2) {
      throw new IllegalArgumentException("too many arguments " + positional + "\n" + USAGE);
    }
    int seconds = positional.size() > 0 ? Integer.parseInt(positional.get(0)) : 10;
    long sizeMiB = positional.size() > 1 ? Long.parseLong(positional.get(1)) : 1024;
    if (seconds < 1 || sizeMiB < 64) {
      throw new IllegalArgumentException("seconds >= 1 and size-MiB >= 64 needed\n" + USAGE);
    }
    int pg = pgSeconds != null ? pgSeconds : Math.max(8, Math.min(30, seconds));
    if (setups.contains(Setup.C) && !Files.isRegularFile(jar)) {
      throw new IllegalArgumentException("setup c needs the torus jar, not found at " + jar
          + " (build: mvn -B -ntp -q package -DskipTests, or give --torus-jar)");
    }
    String stamp = java.time.LocalDateTime.now().withNano(0).toString().replace(":", "");
    return new Config(List.copyOf(setups), seconds, sizeMiB, jfr, pg,
        out.resolve("nbd-side-by-side-" + stamp).toAbsolutePath(), tmp.toAbsolutePath(),
        jar.toAbsolutePath(), absolute(System.getProperty("java.class.path")), encrypted,
        erasure);
  }

  private static Erasure erasure(String text) {
    try {
      return Erasure.parse(text);
    } catch (TorusException e) {
      throw new IllegalArgumentException("--erasure: " + e.getMessage() + "\n" + USAGE);
    }
  }

  private static String absolute(String classPath) {
    List<String> out = new ArrayList<>();
    for (String e : classPath.split(java.io.File.pathSeparator)) {
      out.add(Path.of(e).toAbsolutePath().toString());
    }
    return String.join(java.io.File.pathSeparator, out);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value\n" + USAGE);
    }
    return args[i];
  }
}
