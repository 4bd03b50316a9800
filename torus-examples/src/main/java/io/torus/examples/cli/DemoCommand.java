package io.torus.examples.cli;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.nbd.NbdExport;
import io.torus.nbd.NbdServer;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code torus demo}: a node of its own, no etcd, pooling {@code --peers} stores with
 * replication 2, serving volume {@code demo} over NBD until interrupted. Data persists in
 * {@code --data}: run it again and the volume is still there.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run an embedded Torus (no etcd) and serve volume 'demo' over NBD.",
        "Stops cleanly on Ctrl-C or SIGTERM: drains clients, flushes, exits 0."})
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--data", defaultValue = "torus-demo",
      description = "Data directory (default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--nbd", defaultValue = "127.0.0.1:10809",
      description = "NBD listen address HOST:PORT (default: ${DEFAULT-VALUE}).")
  String nbd;

  @Option(names = "--peers", defaultValue = "3",
      description = "Stores to pool, one directory each (default: ${DEFAULT-VALUE}).")
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

  @Override
  public Integer call() throws Exception {
    if (peers < 1 || peers > 16) {
      throw new IllegalArgumentException("--peers must be 1 to 16: " + peers);
    }
    HostPort listen = HostPort.parse(nbd);
    int replication = peers == 1 ? 1 : 2;
    long capacity = store.equals("memory")
        ? Runtime.getRuntime().maxMemory() / 2 / peers // memory stores live in the heap
        : Math.max(4L << 30, size.bytes() * 3);
    MetricsServer metricsServer = metrics == null ? null
        : new MetricsServer(HostPort.parse(metrics));
    TorusBuilder b = Torus.builder().dataDirectory(data.resolve("node"));
    if (metricsServer != null) {
      b.meterRegistry(metricsServer.registry);
      System.out.println("metrics at " + metricsServer.url());
    }
    for (int i = 0; i < peers; i++) {
      b.addStore(BlockStores.open(store,
          new StoreConfig(data.resolve("store-" + i), capacity, Map.of())));
    }
    Torus torus = b.build();
    NbdServer server = null;
    try {
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
      server = NbdServer.builder().bindAddress(listen.host()).port(listen.port())
          .addExport(NbdExport.builder("demo", volume)
              .description("Torus demo volume").closeVolumeOnStop(true).build())
          .start();
      printUsage(server, listen);
    } catch (RuntimeException e) {
      torus.close();
      throw e;
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    stop.await();
    System.out.println("stopping: draining clients, flushing volume 'demo'");
    try {
      server.close();
    } finally {
      torus.close();
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
}
