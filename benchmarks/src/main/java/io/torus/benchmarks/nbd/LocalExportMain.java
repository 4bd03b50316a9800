package io.torus.benchmarks.nbd;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import io.torus.nbd.NbdExport;
import io.torus.nbd.NbdServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * The server process of setups (a) and (b) of {@link NbdSideBySide}: one node (memory store
 * and in-memory metadata, or a file store and local metadata in a data directory), volume
 * {@code bench} with one copy, exported over NBD on 127.0.0.1 until SIGTERM (then drained,
 * flushed and closed, exit 0). A process of its own so its CPU time and JFR recording are its
 * own, as with {@code torus nbd} in setup (c).
 *
 * <p>Usage: {@code LocalExportMain memory|file DIR SIZE_BYTES NBD_PORT METRICS_PORT
 * [KEY_FILE]} ({@code DIR} is ignored for {@code memory}; with {@code KEY_FILE} the volume is
 * encrypted with that key-encryption key). {@code GET http://127.0.0.1:METRICS_PORT/metrics}
 * answers the count of each volume operation in the Prometheus text format of
 * {@code torus nbd --metrics} ({@code torus_volume_latency_seconds_count{op="flush",...} N}),
 * which the harness reads to check that flushes reach the volume.
 */
public final class LocalExportMain {
  private LocalExportMain() {}

  /** Runs the export; see the class doc for arguments. */
  public static void main(String[] args) throws Exception {
    if (args.length < 5 || args.length > 6
        || !(args[0].equals("memory") || args[0].equals("file"))) {
      throw new IllegalArgumentException(
          "usage: LocalExportMain memory|file DIR SIZE_BYTES NBD_PORT METRICS_PORT [KEY_FILE]");
    }
    long size = Long.parseLong(args[2]);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    TorusBuilder b = Torus.builder().meterRegistry(registry).gcInterval(Duration.ofSeconds(1));
    if (args[0].equals("memory")) {
      // memory stores live in the heap: leave a quarter of it for the cache and the server
      b.storeType("memory").storeCapacity(Runtime.getRuntime().maxMemory() / 4 * 3);
    } else {
      b.dataDirectory(Path.of(args[1])).storeCapacity(Math.max(size * 4, 2L << 30));
    }
    VolumeSpec.Builder spec = VolumeSpec.builder("bench", size).replication(1);
    if (args.length == 6) {
      io.torus.spi.KeyProvider kek = io.torus.KeyProviders.keyFile(Path.of(args[5]));
      b.keyProvider(kek);
      spec.encryption(kek);
    }
    Torus torus = b.build();
    torus.createVolume(spec.build());
    NbdServer server = NbdServer.builder().bindAddress("127.0.0.1")
        .port(Integer.parseInt(args[3]))
        .addExport(NbdExport.builder("bench", torus.openVolume("bench"))
            .closeVolumeOnStop(true).build())
        .start();
    HttpServer http = HttpServer.create(
        new InetSocketAddress("127.0.0.1", Integer.parseInt(args[4])), 4);
    http.createContext("/metrics", ex -> {
      byte[] body = scrape(registry).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      http.stop(0);
      try {
        server.close();
      } finally {
        torus.close();
        stopped.countDown();
      }
    }, "export-stop"));
    System.out.println("exporting bench (" + args[0] + " store) at " + server.uri("bench"));
    System.out.println("nbd ready");
    System.out.flush();
    stopped.await();
  }

  private static String scrape(SimpleMeterRegistry registry) {
    StringBuilder sb = new StringBuilder();
    for (Timer t : registry.find("torus.volume.latency").timers()) {
      sb.append(String.format(Locale.ROOT,
          "torus_volume_latency_seconds_count{volume=\"%s\",op=\"%s\"} %d%n",
          t.getId().getTag("volume"), t.getId().getTag("op"), t.count()));
    }
    return sb.toString();
  }
}
