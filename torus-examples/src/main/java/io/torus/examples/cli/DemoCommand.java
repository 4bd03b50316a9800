package io.torus.examples.cli;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.nbd.NbdExport;
import io.torus.nbd.NbdServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code torus demo}: a cluster of {@code --peers} peers in this process, no etcd: shared
 * local coordination, each peer with its own store and peer server on loopback, volume
 * {@code demo} with two copies of every block placed by the ring and written over the peer
 * protocol, served over NBD until interrupted. Data persists in {@code --data}
 * ({@link InProcessCluster} layout): run it again and the volume is still there.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run a Torus cluster of peers in this process (no etcd) and serve volume",
        "'demo' (2 copies of every block, on different peers) over NBD.",
        "Stops cleanly on Ctrl-C or SIGTERM: drains clients, flushes, exits 0."})
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--data", defaultValue = "torus-demo",
      description = "Data directory (default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--nbd", defaultValue = "127.0.0.1:10809",
      description = "NBD listen address HOST:PORT (default: ${DEFAULT-VALUE}).")
  String nbd;

  @Option(names = "--peers", defaultValue = "3",
      description = "Peers to run in this process, each with its own store and peer"
          + " server (default: ${DEFAULT-VALUE}; 1 is one node).")
  int peers;

  @Option(names = "--store", defaultValue = "file",
      description = "Store type: file or memory (default: ${DEFAULT-VALUE}).")
  String store;

  @Option(names = "--metrics",
      description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
  String metrics;

  @Option(names = "--size", defaultValue = "1GiB",
      description = "Size of volume 'demo' when it is created (default: ${DEFAULT-VALUE}).")
  Size size;

  @Mixin
  NbdTlsOptions tls;

  @Override
  public Integer call() throws Exception {
    io.torus.nbd.NbdTls nbdTls = tls.tls();
    if (peers < 1 || peers > 16) {
      throw new IllegalArgumentException("--peers must be 1 to 16: " + peers);
    }
    HostPort listen = HostPort.parse(nbd);
    int replication = peers == 1 ? 1 : 2;
    long capacity = store.equals("memory")
        ? Runtime.getRuntime().maxMemory() / 2 / peers // memory stores live in the heap
        : Math.max(4L << 30, size.bytes() * 3);
    if (java.nio.file.Files.isDirectory(data.resolve("node"))
        && !InProcessCluster.isLayout(data)) {
      throw new IllegalArgumentException(data + " holds a one-node demo of an earlier layout"
          + " (" + data.resolve("node") + " and its store-N directories); its volumes still"
          + " open with 'torus nbd --data " + data + " demo'. Give the demo another --data.");
    }
    MetricsServer metricsServer = metrics == null ? null
        : new MetricsServer(HostPort.parse(metrics));
    if (metricsServer != null) {
      System.out.println("metrics at " + metricsServer.url());
    }
    InProcessCluster cluster;
    try {
      cluster = InProcessCluster.start(data, peers, store, capacity,
          metricsServer == null ? null : metricsServer.registry,
          java.time.Duration.ofMinutes(5));
    } catch (RuntimeException e) {
      if (metricsServer != null) {
        metricsServer.close();
      }
      throw e;
    }
    Torus torus = cluster.peer(0);
    NbdServer server = null;
    try {
      System.out.printf("%d peer%s in this process: %s%n", peers, peers == 1 ? "" : "s",
          cluster.describe());
      VolumeInfo info = torus.volumes().stream().filter(v -> v.name().equals("demo"))
          .findFirst().orElse(null);
      if (info == null) {
        info = torus.createVolume(VolumeSpec.builder("demo", size.bytes())
            .replication(replication).build());
        System.out.printf("created volume 'demo': %s, %d KiB blocks, %d copies%n",
            Size.format(info.size()), info.blockSize() / 1024, info.replication());
      } else {
        System.out.printf("found volume 'demo' in %s: %s, %d copies%n", data,
            Size.format(info.size()), info.replication());
      }
      BlockVolume volume = torus.openVolume("demo");
      server = NbdServer.builder().bindAddress(listen.host()).port(listen.port()).tls(nbdTls)
          .addExport(NbdExport.builder("demo", volume)
              .description("Torus demo volume").closeVolumeOnStop(true).build())
          .start();
      printUsage(server, listen);
    } catch (RuntimeException e) {
      cluster.close();
      if (metricsServer != null) {
        metricsServer.close();
      }
      throw e;
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    stop.await();
    System.out.println("stopping: draining clients, flushing volume 'demo'");
    try {
      server.close();
    } finally {
      cluster.close();
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
    System.out.println("stopped; data kept in " + data);
    return 0;
  }

  private static void printUsage(NbdServer server, HostPort listen) {
    String uri = server.uri("demo");
    System.out.println();
    System.out.println("Serving volume 'demo' at " + uri);
    System.out.println();
    if (server.tls() != null) {
      printTlsUsage(server);
      return;
    }
    System.out.println("Try it (Debian: apt-get install libnbd-bin qemu-utils fuse3):");
    System.out.println("  nbdinfo " + uri);
    System.out.println("  qemu-io -f raw -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M' " + uri);
    System.out.println("  mkdir -p /tmp/torus-nbd && nbdfuse /tmp/torus-nbd/disk " + uri
        + " &");
    System.out.println("    then: LOOP=$(losetup -f --show /tmp/torus-nbd/disk) &&"
        + " mkfs.ext4 $LOOP && mount $LOOP /mnt");
    System.out.println();
    System.out.println("Press Ctrl-C to stop.");
    System.out.flush();
  }

  private static void printTlsUsage(NbdServer server) {
    String host = server.address().getAddress().getHostAddress();
    System.out.println("TLS " + server.tls().mode().name().toLowerCase(java.util.Locale.ROOT)
        + (server.tls().verifyClient() ? ", client certificates required" : "")
        + ". DIR holds ca-cert.pem (and client-cert.pem, client-key.pem):");
    System.out.println("  nbdinfo 'nbds://" + host + ":" + server.port()
        + "/demo?tls-certificates=DIR'");
    System.out.println("  qemu-img info --object tls-creds-x509,id=tls0,endpoint=client,dir=DIR"
        + " --image-opts driver=nbd,host=" + host + ",port=" + server.port()
        + ",export=demo,tls-creds=tls0");
    System.out.println();
    System.out.println("Press Ctrl-C to stop.");
    System.out.flush();
  }
}
