package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code torus init}: initialise a cluster's metadata in etcd (its defaults record), or make a
 * local node in a data directory.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
    description = {"Initialise a cluster (--etcd): store its defaults for new volumes.",
        "Refused if it already is, unless --force, which replaces only the defaults (volumes,"
            + " peers and the ring stay).",
        "With --data instead: make a local node (no etcd) with --stores file stores."})
final class InitCommand implements Callable<Integer> {
  @Mixin
  NodeOptions node;

  @Option(names = "--replication", defaultValue = "2", paramLabel = "N",
      description = "Copies of each block of a new volume (default: ${DEFAULT-VALUE}).")
  int replication;

  @Option(names = "--erasure", paramLabel = "K+M",
      description = "Erasure-code new volumes by default, e.g. 4+2 (K data, M parity blocks"
          + " per stripe; map nodes keep M+1 copies): 'volume create' without --replication or"
          + " --erasure gets it. Cluster only (default: none, new volumes get copies).")
  io.torus.Erasure erasure;

  @Option(names = "--block-size", defaultValue = "16KiB", paramLabel = "SIZE",
      description = "Block size of a new volume (default: ${DEFAULT-VALUE}).")
  Size blockSize;

  @Option(names = "--overcommit", defaultValue = "4", paramLabel = "R",
      description = "The capacity guard: volumes (sizes times copies, (K+M)/K for erasure"
          + " coding) may provision at most R times the raw capacity of the peers up; creating"
          + " or growing one past it is refused. 0 turns the check off. Cluster only; a node"
          + " may override it (default: ${DEFAULT-VALUE}).")
  double overcommit;

  @Option(names = "--force", description = "Replace the defaults of an initialised cluster.")
  boolean force;

  @Option(names = "--stores", defaultValue = "1", paramLabel = "N",
      description = "Local node only: file stores to make (default: ${DEFAULT-VALUE}).")
  int stores;

  @Option(names = "--capacity", defaultValue = "4GiB", paramLabel = "SIZE",
      description = "Local node only: capacity of each store (default: ${DEFAULT-VALUE}).")
  Size capacity;

  @Override
  public Integer call() {
    int bs = (int) Math.min(Integer.MAX_VALUE, blockSize.bytes());
    new VolumeSpec("defaults", 512, bs, replication); // validates both values
    try {
      ClusterAdmin.Defaults.checkOvercommit(overcommit);
    } catch (io.torus.TorusException e) {
      throw new UsageError("--overcommit: " + e.getMessage());
    }
    if (!node.clustered()) {
      if (erasure != null) {
        throw new UsageError("--erasure needs a cluster (--etcd): erasure coding places a"
            + " stripe's K+M blocks on as many peers; a local node uses replication");
      }
      if (overcommit != ClusterAdmin.Defaults.DEFAULT_OVERCOMMIT_RATIO) {
        throw new UsageError("--overcommit is a cluster default (--etcd); a local node"
            + " provisions at most 4 times its stores (TorusBuilder.overcommitRatio to change"
            + " it when embedding)");
      }
      return initLocal(node.data);
    }
    try (Torus torus = node.open()) {
      ClusterAdmin.Defaults old = torus.cluster().defaults().orElse(null);
      if (old != null && !force) {
        throw new IllegalStateException("the cluster at " + node.etcd + " (prefix "
            + node.etcdPrefix + ") is already initialised (" + old.replication() + " copies, "
            + (old.erasure() == null ? "" : "erasure " + old.erasure() + ", ")
            + Size.format(old.blockSize()) + " blocks, since " + old.initialized()
            + "); --force replaces its defaults");
      }
      ClusterAdmin.Defaults d = torus.cluster().initialize(replication, bs, erasure,
          overcommit, force);
      if (d.erasure() == null) {
        System.out.printf("initialised cluster %s at %s: new volumes get %d copies, %s"
            + " blocks%n", node.etcdPrefix, node.etcd, d.replication(),
            Size.format(d.blockSize()));
      } else {
        System.out.printf("initialised cluster %s at %s: new volumes get %s, %s blocks"
            + " (with --replication: %d copies)%n", node.etcdPrefix, node.etcd,
            VolumeCommand.redundancy(d.erasure().mapCopies(), d.erasure()),
            Size.format(d.blockSize()), d.replication());
      }
      System.out.println(d.overcommitRatio() == 0 ? "capacity guard: off (--overcommit 0)"
          : "capacity guard: volumes may provision " + d.overcommitRatio()
              + " x the raw capacity of the peers up");
    }
    return 0;
  }

  private int initLocal(Path data) {
    if (stores < 1 || stores > 16) {
      throw new IllegalArgumentException("--stores must be 1 to 16: " + stores);
    }
    if (Files.isDirectory(data.resolve("node").resolve("meta"))
        || Files.isDirectory(data.resolve("meta"))) {
      throw new IllegalArgumentException("a local node already exists in " + data);
    }
    TorusBuilder b = Torus.builder().dataDirectory(data.resolve("node"));
    for (int i = 0; i < stores; i++) {
      b.addStore(BlockStores.open("file",
          new StoreConfig(data.resolve("store-" + i), capacity.bytes(), Map.of())));
    }
    try (Torus torus = b.build()) {
      System.out.printf("made local node %s in %s: %d store(s) of %s%n", torus.nodeId(), data,
          stores, Size.format(capacity.bytes()));
    }
    return 0;
  }
}
