package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.TorusBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code torus node}: a peer process. It keeps blocks in a file store under {@code --data},
 * serves the peer protocol on {@code --listen}, registers with the cluster and joins its ring,
 * and runs until SIGINT or SIGTERM, then stops cleanly (exit 0).
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = {"Run a peer: contribute a store to the cluster at --etcd.",
        "Joins the ring on start; stops cleanly on Ctrl-C or SIGTERM (exit 0)."})
final class NodeCommand implements Callable<Integer> {

  @Mixin
  ClusterOptions cluster;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "Where the node keeps its store, node id and fencing epochs.")
  Path data;

  @Option(names = "--capacity", required = true, paramLabel = "SIZE",
      description = "Capacity of the node's store when it is made, e.g. 100GiB.")
  Size capacity;

  @Option(names = "--listen", required = true, paramLabel = "HOST:PORT",
      description = "Where to serve the peer protocol, e.g. 10.0.0.5:4000.")
  String listen;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "Address other nodes connect to, if not the listen address.")
  String advertise;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
  String metrics;

  @Override
  public Integer call() throws Exception {
    HostPort at = HostPort.parse(listen);
    checkInitialised();
    MetricsServer metricsServer = metrics == null ? null
        : new MetricsServer(HostPort.parse(metrics));
    TorusBuilder b = cluster.configure(Torus.builder()).dataDirectory(data).storeType("file")
        .storeCapacity(capacity.bytes()).listen(at.host(), at.port());
    if (advertise != null) {
      HostPort a = HostPort.parse(advertise);
      b.advertise(a.host(), a.port());
    }
    if (metricsServer != null) {
      b.meterRegistry(metricsServer.registry);
    }
    Torus torus;
    try {
      torus = b.build();
    } catch (RuntimeException e) {
      if (metricsServer != null) {
        metricsServer.close();
      }
      throw e;
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    ClusterAdmin.RingInfo ring = torus.cluster().ring().orElse(null);
    System.out.printf("node %s serving peers at %s; data in %s%n", torus.nodeId(), listen,
        data);
    if (ring != null) {
      System.out.printf("joined the cluster: ring version %d, %d members%n", ring.version(),
          ring.members().size());
    }
    if (metricsServer != null) {
      System.out.println("metrics at " + metricsServer.url());
    }
    System.out.println("node ready; Ctrl-C or SIGTERM stops it");
    System.out.flush();
    stop.await();
    System.out.println("stopping node " + torus.nodeId());
    try {
      torus.close();
    } finally {
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
    System.out.println("stopped");
    return 0;
  }

  private void checkInitialised() {
    try (Torus client = cluster.configure(Torus.builder()).peer(false).gcInterval(Duration.ZERO)
        .build()) {
      if (client.cluster().defaults().isEmpty()) {
        throw new IllegalArgumentException("the cluster at " + String.join(",",
            cluster.endpoints()) + " (prefix " + cluster.etcdPrefix + ") is not initialised;"
            + " run 'torus init' first");
      }
    }
  }
}
