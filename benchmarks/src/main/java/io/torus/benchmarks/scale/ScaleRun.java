package io.torus.benchmarks.scale;

import io.torus.Torus;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The scale harness's driver: for each cluster size, a fresh 3-member etcd on loopback (real
 * {@code etcd} processes on free ports, killed by PID at the end), the peers spread over child
 * JVMs ({@link PeerHost}), a client node here, one {@link ScalePoint}; each result is appended
 * as a line to a tab-separated file and the plots are drawn from that file
 * ({@link ScalePlot}).
 *
 * <p>Run through {@code benchmarks/scale/run-scale.sh}, or: {@code java -cp
 * benchmarks/target/benchmarks.jar io.torus.benchmarks.scale.ScaleRun --peers 50,100
 * --jvms 2 --heap 2g --out DIR}. Options: {@code --peers} sizes, {@code --jvms} child JVMs,
 * {@code --heap} their -Xmx, {@code --window} steady-state seconds (30), {@code --store-mib}
 * per peer (8), {@code --data-mib} of the rebalanced volume (32), {@code --volume-mib}
 * written at random into the 1 TiB and the 1 GiB volume (32), {@code --lease-ttl} seconds of
 * every node's etcd lease (10, the default of a node), {@code --out} directory of
 * {@code scale-results.tsv} and the SVG plots.
 */
public final class ScaleRun {
  private ScaleRun() {}

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = new ArrayList<>();
    int jvms = 2;
    String heap = "2g";
    int window = 30;
    int storeMiB = 8;
    int dataMiB = 32;
    int volumeMiB = 32;
    int leaseSeconds = 10;
    Path out = Path.of("benchmarks/scale/out");
    for (int i = 0; i < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--peers" -> {
          for (String s : v.split(",")) {
            sizes.add(Integer.parseInt(s));
          }
        }
        case "--jvms" -> jvms = Integer.parseInt(v);
        case "--heap" -> heap = v;
        case "--window" -> window = Integer.parseInt(v);
        case "--store-mib" -> storeMiB = Integer.parseInt(v);
        case "--data-mib" -> dataMiB = Integer.parseInt(v);
        case "--volume-mib" -> volumeMiB = Integer.parseInt(v);
        case "--out" -> out = Path.of(v);
        case "--lease-ttl" -> leaseSeconds = Integer.parseInt(v);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (sizes.isEmpty()) {
      sizes = List.of(50, 100);
    }
    Files.createDirectories(out);
    Path tsv = out.resolve("scale-results.tsv");
    if (!Files.exists(tsv)) {
      Files.writeString(tsv, ScaleResult.columns() + "\n", StandardCharsets.UTF_8);
    }
    ScalePoint.Options options = new ScalePoint.Options(Duration.ofSeconds(window), dataMiB,
        volumeMiB, true, Duration.ofMinutes(10));
    for (int n : sizes) {
      System.out.printf("%s: %d peers in %d JVMs (-Xmx%s)%n", Instant.now(), n, jvms, heap);
      ScaleResult r = runOne(n, jvms, heap, (long) storeMiB << 20, leaseSeconds, options, out);
      Files.writeString(tsv, r.row() + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      System.out.println(ScaleTable.markdown(List.of(r)));
    }
    ScalePlot.write(tsv, out);
  }

  static ScaleResult runOne(int peers, int jvms, String heap, long storeBytes,
      int leaseSeconds, ScalePoint.Options options, Path out) throws Exception {
    // etcd's default timings: the test harness's 20 ms heartbeats make members hold
    // elections again and again when hundreds of peers share two cores with them
    EtcdCluster etcd = EtcdCluster.builder().members(3)
        .timing(Duration.ofMillis(100), Duration.ofSeconds(1)).build();
    List<Host> hosts = new ArrayList<>();
    etcd.start();
    try {
      String prefix = "/scale" + peers;
      String java = ProcessHandle.current().info().command().orElse("java");
      String cp = System.getProperty("java.class.path");
      for (int i = 0; i < jvms; i++) {
        Path log = out.resolve("host-" + peers + "-" + i + ".log");
        Files.deleteIfExists(log);
        hosts.add(new RemoteHost(List.of(java, "-Xmx" + heap, "-XX:+UseG1GC",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp,
            PeerHost.class.getName(), String.join(",", etcd.endpoints()), prefix,
            Long.toString(storeBytes), "8", "8", Integer.toString(leaseSeconds)), log));
      }
      try (Torus client = Torus.builder().etcd(etcd.endpoints()).etcdPrefix(prefix)
          .peer(false).ioTimeout(Duration.ofSeconds(30)).gcInterval(Duration.ZERO)
          .peerTimeout(PeerHost.PEER_TIMEOUT).leaseTtl(Duration.ofSeconds(leaseSeconds))
          .overcommitRatio(0) // a 1 TiB thin volume on a cluster of a few GiB is the point
          .build()) {
        return new ScalePoint(hosts, etcd.endpoints(), client, peers, options).run();
      }
    } finally {
      for (Host h : hosts) {
        try {
          h.close();
        } catch (Exception e) {
          System.err.println("stopping a peer host failed: " + e);
        }
      }
      etcd.close();
    }
  }
}
