package io.torus.examples.cli;

import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * Selects the node an administrative command works through: a client-only member of the
 * cluster at {@code --etcd} (with the security settings of {@link ClusterOptions}), the peers
 * of a stopped demo in {@code --data} (run in this process for the command), or the local node
 * in {@code --data} made by {@code torus init --data}.
 */
final class NodeOptions extends ClusterOptions {
  /** The environment variable {@code --etcd} defaults to. */
  static final String ENV = "TORUS_ETCD";

  @Option(names = "--data", paramLabel = "DIR",
      description = "Data directory of a local node instead of a cluster (the node must not"
          + " be running), e.g. torus-demo.")
  Path data;

  /** The etcd endpoints in {@code etcd}, {@code http://} added where missing. */
  static List<String> endpoints(String etcd) {
    return endpoints(etcd, "http://");
  }

  boolean clustered() {
    if (data != null && etcd != null && !etcd.isBlank()) {
      throw new IllegalArgumentException("give either --etcd (a cluster) or --data (a local"
          + " node), not both (--etcd may come from $" + ENV + " or the config file)");
    }
    if (data == null && (etcd == null || etcd.isBlank())) {
      throw new IllegalArgumentException("no node given: use --etcd URLS (or set " + ENV
          + ") for a cluster, or --data DIR for a local node");
    }
    return data == null;
  }

  /** Opens the node (client-only for a cluster); the caller closes it. */
  Torus open() {
    if (clustered()) {
      return configure(Torus.builder()).peer(false).gcInterval(java.time.Duration.ZERO).build();
    }
    return openLocal(data, null, false, keyProviders());
  }

  /**
   * Opens a view for reading the cluster's state only: for the in-process cluster of a
   * stopped demo, a client that starts no peer (so they show as down); otherwise
   * {@link #open}.
   */
  Torus openView() {
    if (!clustered() && InProcessCluster.isLayout(data)) {
      return InProcessCluster.viewer(data);
    }
    return open();
  }

  /** The node directory of a local node in {@code data}: {@code data/node}, or data. */
  static Path nodeDir(Path data) {
    return Files.isDirectory(data.resolve("node")) ? data.resolve("node") : data;
  }

  /** The file stores of a local node: {@code data/store-N} (the demo's layout). */
  static List<Path> storeDirs(Path data) {
    if (!Files.isDirectory(data)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(data)) {
      Path[] dirs = s.filter(p -> p.getFileName().toString().matches("store-\\d+")
          && Files.isDirectory(p)).toArray(Path[]::new);
      Arrays.sort(dirs, (a, b) -> Integer.compare(index(a), index(b)));
      return List.of(dirs);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot list " + data + ": " + e.getMessage());
    }
  }

  private static int index(Path storeDir) {
    return Integer.parseInt(storeDir.getFileName().toString().substring("store-".length()));
  }

  static Torus openLocal(Path data) {
    return openLocal(data, null, false, List.of());
  }

  /**
   * Opens the local node in {@code data}, publishing metrics to {@code registry} if set;
   * a {@code longRunning} node collects garbage in the background; {@code keys} open
   * encrypted volumes.
   */
  static Torus openLocal(Path data, io.micrometer.core.instrument.MeterRegistry registry,
      boolean longRunning, List<io.torus.spi.KeyProvider> keys) {
    if (InProcessCluster.isLayout(data)) { // a stopped demo: run its peers here
      return InProcessCluster.start(data, InProcessCluster.peerCount(data), "file", 1L << 30,
          registry, longRunning ? java.time.Duration.ofMinutes(5) : java.time.Duration.ZERO,
          keys).asTorus();
    }
    Path dir = nodeDir(data);
    if (!Files.isDirectory(dir.resolve("meta"))) {
      throw new IllegalArgumentException("no Torus node in " + data + " (run 'torus init --data "
          + data + "' or 'torus demo --data " + data + "' first)");
    }
    TorusBuilder b = Torus.builder().dataDirectory(dir);
    keys.forEach(b::keyProvider);
    if (!longRunning) {
      b.gcInterval(java.time.Duration.ZERO);
    }
    if (registry != null) {
      b.meterRegistry(registry);
    }
    List<Path> stores = storeDirs(data);
    if (stores.isEmpty()) {
      b.storeType("memory"); // metadata only: no stores were ever made here
    }
    List<BlockStore> opened = new ArrayList<>();
    try {
      for (Path p : stores) {
        BlockStore s = BlockStores.open("file", new StoreConfig(p, 1L << 30, Map.of()));
        opened.add(s);
        b.addStore(s);
      }
      return b.build();
    } catch (RuntimeException e) {
      opened.forEach(BlockStore::close);
      throw e;
    }
  }
}
