package io.torus.examples.cli;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeLockedException;
import io.torus.nbd.NbdExport;
import io.torus.nbd.NbdServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code torus nbd}: a client-only node that opens volumes for writing (snapshots read-only)
 * and exports each over NBD under its own name, until SIGINT or SIGTERM.
 */
@Command(name = "nbd", mixinStandardHelpOptions = true,
    description = {"Export volumes over NBD, each under its own name.",
        "VOL is opened for writing (refused if another writer holds it);",
        "VOL@SNAP exports a snapshot read-only. Stops cleanly on Ctrl-C or SIGTERM:",
        "drains clients, flushes, releases the volumes, exits 0.",
        "With --tls-cert/--tls-key clients connect over TLS (NBD STARTTLS)."})
final class NbdCommand implements Callable<Integer> {
  @Mixin
  NodeOptions node;

  @Mixin
  NbdTlsOptions tls;

  @Option(names = "--listen", defaultValue = "127.0.0.1:10809", paramLabel = "HOST:PORT",
      description = "NBD listen address (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
  String metrics;

  @Parameters(arity = "1..*", paramLabel = "VOLUME", description = "VOL or VOL@SNAP.")
  List<String> volumes;

  @Override
  public Integer call() throws Exception {
    HostPort at = HostPort.parse(listen);
    io.torus.nbd.NbdTls nbdTls = tls.tls();
    List<VolRef> refs = new ArrayList<>();
    for (String v : volumes) {
      refs.add(VolRef.parse(v));
    }
    MetricsServer metricsServer = metrics == null ? null
        : new MetricsServer(HostPort.parse(metrics));
    Torus torus = null;
    NbdServer server;
    try {
      torus = node.clustered()
          ? withMetrics(node, metricsServer)
          : NodeOptions.openLocal(node.data,
              metricsServer == null ? null : metricsServer.registry, true,
              node.keyProviders());
      NbdServer.Builder b = NbdServer.builder().bindAddress(at.host()).port(at.port())
          .tls(nbdTls);
      for (VolRef r : refs) {
        b.addExport(NbdExport.builder(r.toString(), open(torus, r)).readOnly(r.isSnapshot())
            .closeVolumeOnStop(true).build());
      }
      server = b.start();
    } catch (RuntimeException e) {
      if (torus != null) {
        torus.close(); // closes the volumes opened so far
      }
      if (metricsServer != null) {
        metricsServer.close();
      }
      throw e;
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    for (VolRef r : refs) {
      System.out.printf("exporting %s%s at %s%n", r, r.isSnapshot() ? " (read-only)" : "",
          server.uri(r.toString()));
    }
    if (metricsServer != null) {
      System.out.println("metrics at " + metricsServer.url());
    }
    System.out.println("nbd ready; Ctrl-C or SIGTERM stops it");
    System.out.flush();
    stop.await();
    System.out.println("stopping: draining clients, flushing");
    try {
      server.close();
    } finally {
      torus.close();
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
    System.out.println("stopped");
    return 0;
  }

  private static Torus withMetrics(NodeOptions node, MetricsServer metrics) {
    io.torus.TorusBuilder b = node.configure(Torus.builder()).peer(false);
    if (metrics != null) {
      b.meterRegistry(metrics.registry);
    }
    return b.build();
  }

  private static BlockVolume open(Torus torus, VolRef r) {
    if (r.isSnapshot()) {
      return torus.openSnapshot(r.volume(), r.snapshot());
    }
    try {
      return torus.openVolume(r.volume());
    } catch (VolumeLockedException e) {
      throw new IllegalStateException("volume '" + r.volume() + "' is held by another writer ("
          + e.holder() + "); stop that writer first (a writer that died releases it when its"
          + " etcd lease expires)", e);
    }
  }
}
