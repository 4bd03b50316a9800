package io.torus.benchmarks.nbd;

import io.torus.benchmarks.nbd.Launcher.Proc;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts the two servers of each setup of {@link NbdSideBySide} on loopback, every process
 * through a {@link Launcher} (so it is stopped by PID when the side is done or the run
 * fails):
 *
 * <pre>
 * setup  ours                                                  nbdkit
 * a      LocalExportMain memory (in-memory metadata)           nbdkit memory SIZE
 * b      LocalExportMain file (data dir in the temp dir)       nbdkit file FILE (sparse, same fs)
 * c      etcd + 3 x `torus node` (file stores, R=2)            nbdkit file FILE
 *        + `torus nbd` (client-only node) exporting the volume
 * </pre>
 */
final class Setups {
  private static final Pattern FLUSH_COUNT = Pattern.compile(
      "torus_volume_latency_seconds_count\\{[^}]*op=\"flush\"[^}]*\\}\\s+([0-9.eE+]+)");
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  private Setups() {}

  /** The three setups. */
  enum Setup {
    A("a", "single node, memory store", "nbdkit memory"),
    B("b", "single node, file store", "nbdkit file"),
    C("c", "etcd + 3 peers (file stores, R=2) + torus nbd", "nbdkit file");

    final String key;
    final String ours;
    final String theirs;

    Setup(String key, String ours, String theirs) {
      this.key = key;
      this.ours = ours;
      this.theirs = theirs;
    }

    static Setup of(String key) {
      for (Setup s : values()) {
        if (s.key.equalsIgnoreCase(key.trim())) {
          return s;
        }
      }
      throw new IllegalArgumentException("unknown setup '" + key + "' (use a, b, c)");
    }
  }

  /**
   * One server under test.
   *
   * @param server "torus" or "nbdkit"
   * @param uri the NBD URI of its export
   * @param procs the processes whose CPU time is counted (server side only)
   * @param metricsUrl where our export's operation counts are scraped; null for nbdkit
   */
  record Target(String server, String uri, List<Proc> procs, String metricsUrl) {
    /** Flushes the export's volume has completed so far, or -1 if unknown. */
    long flushes() {
      if (metricsUrl == null) {
        return -1;
      }
      try {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create(metricsUrl))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = FLUSH_COUNT.matcher(body);
        long n = 0;
        boolean found = false;
        while (m.find()) {
          n += (long) Double.parseDouble(m.group(1));
          found = true;
        }
        return found ? n : -1;
      } catch (IOException | InterruptedException e) {
        return -1;
      }
    }
  }

  /**
   * Starts our side of {@code s} with data under {@code tmp}; with {@code encrypted}, the
   * exported volume is encrypted (a key file under {@code tmp}).
   */
  static Target startOurs(Setup s, Launcher l, Config c, Path tmp, boolean encrypted)
      throws Exception {
    Path key = null;
    if (encrypted) {
      key = tmp.resolve("kek.hex");
      Files.writeString(key, io.torus.KeyProviders.generateHex() + "\n");
    }
    return switch (s) {
      case A -> local(l, c, "memory", tmp, s, key);
      case B -> local(l, c, "file", tmp.resolve("torus-data"), s, key);
      case C -> cluster(l, c, tmp, s, key);
    };
  }

  /** Starts nbdkit for {@code s}: the memory plugin, or the file plugin on a sparse file. */
  static Target startNbdkit(Setup s, Launcher l, Config c, Path tmp) throws Exception {
    int port = Launcher.freePort();
    List<String> cmd = new ArrayList<>(List.of("nbdkit", "-f", "-i", "127.0.0.1",
        "-p", String.valueOf(port)));
    if (s == Setup.A) {
      cmd.addAll(List.of("memory", c.sizeMiB() + "M"));
    } else {
      Path file = tmp.resolve("nbdkit-disk.img");
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.setLength(c.sizeBytes()); // sparse, like our file store's unwritten blocks
      }
      cmd.addAll(List.of("file", file.toString()));
    }
    Proc kit = l.start("nbdkit", cmd);
    Launcher.awaitPort(kit, port, Duration.ofSeconds(15));
    return new Target("nbdkit", "nbd://127.0.0.1:" + port + "/", List.of(kit), null);
  }

  private static Target local(Launcher l, Config c, String store, Path dir, Setup s, Path key)
      throws Exception {
    int port = Launcher.freePort();
    int metrics = Launcher.freePort();
    long heapMiB = store.equals("memory") ? Math.max(2048, c.sizeMiB() * 4 + 1024) : 1024;
    List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx" + heapMiB + "m"));
    cmd.addAll(c.jfrOptions(s, "server"));
    cmd.addAll(List.of("-cp", c.benchClasspath(), LocalExportMain.class.getName(), store,
        dir.toString(), String.valueOf(c.sizeBytes()), String.valueOf(port),
        String.valueOf(metrics)));
    if (key != null) {
      cmd.add(key.toString());
    }
    Proc p = l.start("server", cmd);
    Launcher.awaitLog(p, "nbd ready", Duration.ofSeconds(120));
    return new Target("torus", "nbd://127.0.0.1:" + port + "/bench", List.of(p),
        "http://127.0.0.1:" + metrics + "/metrics");
  }

  private static Target cluster(Launcher l, Config c, Path tmp, Setup s, Path key)
      throws Exception {
    List<String> keyArgs = key == null ? List.of() : List.of("--key-file", key.toString());
    String etcdUrl = "http://127.0.0.1:" + Launcher.freePort();
    String etcdPeer = "http://127.0.0.1:" + Launcher.freePort();
    Proc etcd = l.start("etcd", List.of("etcd", "--name", "m0",
        "--data-dir", tmp.resolve("etcd").toString(),
        "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
        "--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
        "--initial-cluster", "m0=" + etcdPeer, "--initial-cluster-state", "new",
        "--heartbeat-interval", "20", "--election-timeout", "200", "--log-outputs", "stderr"));
    awaitEtcd(etcd, etcdUrl);
    admin(c, etcdUrl, "init", "--replication", "2");
    List<Proc> procs = new ArrayList<>();
    long capacityMiB = Math.max(2048, c.sizeMiB() * 3);
    for (int i = 0; i < 3; i++) {
      List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx512m"));
      cmd.addAll(c.jfrOptions(s, "node" + i));
      cmd.addAll(List.of("-jar", c.torusJar().toString(), "node", "--etcd", etcdUrl,
          "--data", tmp.resolve("node" + i).toString(), "--capacity", capacityMiB + "MiB",
          "--listen", "127.0.0.1:" + Launcher.freePort(),
          "--metrics", "127.0.0.1:" + Launcher.freePort()));
      procs.add(l.start("node" + i, cmd));
    }
    for (Proc p : procs) {
      Launcher.awaitLog(p, "node ready", Duration.ofSeconds(120));
    }
    awaitPeersUp(c, etcdUrl, 3, Duration.ofSeconds(60));
    List<String> create = new ArrayList<>(List.of("volume", "create", "bench",
        c.sizeMiB() + "MiB"));
    if (key != null) {
      create.add("--encrypt");
      create.addAll(keyArgs);
    }
    admin(c, etcdUrl, create.toArray(String[]::new));
    int port = Launcher.freePort();
    int metrics = Launcher.freePort();
    List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx512m"));
    cmd.addAll(c.jfrOptions(s, "nbd"));
    cmd.addAll(List.of("-jar", c.torusJar().toString(), "nbd", "--etcd", etcdUrl,
        "--listen", "127.0.0.1:" + port, "--metrics", "127.0.0.1:" + metrics));
    cmd.addAll(keyArgs);
    cmd.add("bench");
    Proc nbd = l.start("nbd", cmd);
    Launcher.awaitLog(nbd, "nbd ready", Duration.ofSeconds(120));
    List<Proc> all = new ArrayList<>();
    all.add(nbd);
    all.addAll(procs);
    all.add(etcd);
    return new Target("torus", "nbd://127.0.0.1:" + port + "/bench", all,
        "http://127.0.0.1:" + metrics + "/metrics");
  }

  private static String admin(Config c, String etcdUrl, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx256m", "-jar",
        c.torusJar().toString()));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--etcd", etcdUrl));
    return Launcher.run(cmd, Duration.ofSeconds(120));
  }

  private static void awaitEtcd(Proc etcd, String url) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!etcd.process().isAlive()) {
        throw new IllegalStateException("etcd exited; log " + etcd.log() + ":\n"
            + Launcher.tail(etcd.log()));
      }
      try {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health"))
            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString()).body();
        if (body.contains("\"health\":\"true\"")) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("etcd not healthy after 30 s; log " + etcd.log());
  }

  private static void awaitPeersUp(Config c, String etcdUrl, int n, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String out = "";
    while (System.nanoTime() < deadline) {
      out = admin(c, etcdUrl, "peer", "list");
      long up = out.lines().filter(line -> line.matches(".*\\s+up\\s+.*")).count();
      if (up >= n) {
        return;
      }
      Thread.sleep(1000);
    }
    throw new IllegalStateException("fewer than " + n + " peers up after " + timeout + ":\n"
        + out);
  }
}
