package io.torus.benchmarks.nbd;

import io.torus.Erasure;
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
 *
 * <p>With {@code --erasure K+M} setup (c) starts max(3, K+M) peers, and the erasure-coded
 * volume is a second volume on the cluster of the replicated one ({@link #startCluster},
 * {@link #export}).
 */
final class Setups {
  /** The volume our side of setup (c) exports. */
  static final String VOLUME = "bench";
  /** The erasure-coded volume of setup (c) with {@code --erasure}, beside {@link #VOLUME}. */
  static final String ERASURE_VOLUME = "bench-ec";
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

    /** What our side of this setup is in run {@code c} (the peers of (c) vary). */
    String ours(Config c) {
      if (this != C) {
        return ours;
      }
      return "etcd + " + c.peers() + " peers (file stores, R=2"
          + (c.erasure() == null ? "" : "; and erasure " + c.erasure()) + ") + torus nbd";
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
   * A running cluster of setup (c), made by {@link #startCluster}: volumes are added to it and
   * exported by {@link #export}.
   *
   * @param etcdUrl the client URL of its etcd member
   * @param procs its peers, then etcd, owned by the launcher that started them
   */
  record Cluster(String etcdUrl, List<Proc> procs) {}

  /**
   * Starts our side of {@code s} with data under {@code tmp}; with {@code encrypted}, the
   * exported volume is encrypted (a key file under {@code tmp}). Setup (c) gets a cluster of
   * its own ({@link #startCluster}) with the volume {@code bench}.
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
      case C -> export(startCluster(l, c, tmp, s, 1), l, c, s, VOLUME, null, key);
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

  /**
   * Starts the cluster of setup (c) under {@code tmp}: one etcd member, {@code torus init
   * --replication 2} and {@link Config#peers} {@code torus node} processes (file stores,
   * {@link Config#peerHeapMiB} heaps each), returned once every peer is up. Each peer's store
   * can hold {@code volumes} volumes of the export size (stores are sparse files).
   */
  static Cluster startCluster(Launcher l, Config c, Path tmp, Setup s, int volumes)
      throws Exception {
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
    long capacityMiB = Math.max(2048, c.sizeMiB() * 3 * volumes);
    for (int i = 0; i < c.peers(); i++) {
      List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx" + c.peerHeapMiB() + "m"));
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
    awaitPeersUp(c, etcdUrl, procs.size(), Duration.ofSeconds(Math.max(60, 10 * procs.size())));
    procs.add(etcd);
    return new Cluster(etcdUrl, List.copyOf(procs));
  }

  /**
   * Creates {@code volume} on cluster {@code k} (replicated, or erasure-coded with {@code
   * erasure}; encrypted with the key file {@code key}, if not null) and exports it with a
   * {@code torus nbd} process started by {@code l}. The target's processes are that export,
   * then the cluster's peers and etcd.
   */
  static Target export(Cluster k, Launcher l, Config c, Setup s, String volume,
      Erasure erasure, Path key) throws Exception {
    List<String> keyArgs = key == null ? List.of() : List.of("--key-file", key.toString());
    List<String> create = new ArrayList<>(List.of("volume", "create", volume,
        c.sizeMiB() + "MiB"));
    if (erasure != null) {
      create.addAll(List.of("--erasure", erasure.toString()));
    }
    if (key != null) {
      create.add("--encrypt");
      create.addAll(keyArgs);
    }
    admin(c, k.etcdUrl(), create.toArray(String[]::new));
    int port = Launcher.freePort();
    int metrics = Launcher.freePort();
    List<String> cmd = new ArrayList<>(List.of(c.java(), "-Xmx512m"));
    cmd.addAll(c.jfrOptions(s, erasure == null ? "nbd" : "nbd-erasure"));
    cmd.addAll(List.of("-jar", c.torusJar().toString(), "nbd", "--etcd", k.etcdUrl(),
        "--listen", "127.0.0.1:" + port, "--metrics", "127.0.0.1:" + metrics));
    cmd.addAll(keyArgs);
    cmd.add(volume);
    Proc nbd = l.start("nbd", cmd);
    Launcher.awaitLog(nbd, "nbd ready", Duration.ofSeconds(120));
    List<Proc> all = new ArrayList<>();
    all.add(nbd);
    all.addAll(k.procs());
    return new Target("torus", "nbd://127.0.0.1:" + port + "/" + volume, all,
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
