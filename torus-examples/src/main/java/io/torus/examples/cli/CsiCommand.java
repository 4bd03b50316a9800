package io.torus.examples.cli;

import io.torus.Torus;
import io.torus.examples.csi.AttachMode;
import io.torus.examples.csi.CsiConfig;
import io.torus.examples.csi.CsiServer;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code torus csi}: a Container Storage Interface plugin (controller, node, or both) on a
 * Unix socket, until SIGINT or SIGTERM. The node plugin attaches each volume through a
 * {@code torus nbd} process of its own, started with this command's cluster options.
 */
@Command(name = "csi", mixinStandardHelpOptions = true,
    description = {"Serve the Container Storage Interface (CSI v1.1) on a Unix socket.",
        "--mode controller: volumes, snapshots, expansion. --mode node: attach volumes",
        "on this machine (a torus nbd process per volume; the kernel nbd-client, or nbdfuse",
        "and a loop device).",
        "--mode all: both. Stops on Ctrl-C or SIGTERM; attached volumes stay attached",
        "(their exports run in processes of their own)."})
final class CsiCommand implements Callable<Integer> {
  @Mixin
  ClusterOptions cluster;

  @Option(names = "--endpoint", defaultValue = "unix:///csi/csi.sock", paramLabel = "URI",
      description = "Socket to serve: unix:///PATH or a path (default: ${DEFAULT-VALUE}).")
  String endpoint;

  @Option(names = "--mode", defaultValue = "all", paramLabel = "MODE",
      description = "controller, node or all (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(names = "--driver-name", defaultValue = "csi.torus.io", paramLabel = "NAME",
      description = "CSI driver name (default: ${DEFAULT-VALUE}).")
  String driverName;

  @Option(names = "--node-id", paramLabel = "ID",
      description = "This node's id (default: the host name).")
  String nodeId;

  @Option(names = "--state-dir", defaultValue = "/var/lib/torus-csi", paramLabel = "DIR",
      description = "Where the node plugin keeps the state of attached volumes; it must"
          + " outlive the plugin (default: ${DEFAULT-VALUE}).")
  Path stateDir;

  @Option(names = "--cluster-name", defaultValue = "torus", paramLabel = "NAME",
      description = "Topology value of " + CsiConfig.TOPOLOGY_KEY + " for volumes and nodes"
          + " (default: ${DEFAULT-VALUE}).")
  String clusterName;

  @Option(names = "--min-peers", defaultValue = "1", paramLabel = "N",
      description = "Peers that must be up for Probe to report healthy"
          + " (default: ${DEFAULT-VALUE}).")
  int minPeers;

  @Option(names = "--default-size", defaultValue = "1GiB", paramLabel = "SIZE",
      description = "Size of a volume requested without a capacity (default: ${DEFAULT-VALUE}).")
  Size defaultSize;

  @Option(names = "--max-volumes", defaultValue = "0", paramLabel = "N",
      description = "Volumes this node attaches at most, reported to the CO (0: no limit).")
  long maxVolumes;

  @Option(names = "--nbd-java-options", defaultValue = "-Xmx512m", paramLabel = "OPTS",
      description = "JVM options of the torus nbd process of each attached volume"
          + " (default: ${DEFAULT-VALUE}).")
  String nbdJavaOptions;

  @Option(names = "--attach", paramLabel = "MODE",
      description = "How the node plugin attaches volumes: auto (the kernel nbd-client where"
          + " the nbd module is loaded, else nbdfuse and a loop device), kernel or fuse"
          + " (default: $" + AttachMode.ENV + ", else auto).")
  String attach;

  @Override
  public Integer call() throws Exception {
    boolean controller = mode.equals("controller") || mode.equals("all");
    boolean nodeMode = mode.equals("node") || mode.equals("all");
    if (!controller && !nodeMode) {
      throw new UsageError("--mode must be controller, node or all: " + mode);
    }
    cluster.endpoints(); // fails early without --etcd
    String version = TorusCommand.class.getPackage().getImplementationVersion();
    CsiConfig config = new CsiConfig(driverName, version == null ? "0.1.0-SNAPSHOT" : version,
        controller, nodeMode, nodeId != null ? nodeId : InetAddress.getLocalHost().getHostName(),
        stateDir.toAbsolutePath(), clusterName, minPeers, defaultSize.bytes(), maxVolumes,
        nbdCommand(), attachMode());
    Path socket = socketPath(endpoint);
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    try (CsiServer server = CsiServer.start(config, socket, this::openTorus)) {
      System.out.println("csi ready at unix://" + server.socket() + " (" + mode + ")");
      System.out.flush();
      stop.await();
      System.out.println("stopping");
    }
    System.out.println("stopped");
    return 0;
  }

  private Torus openTorus() {
    return cluster.configure(Torus.builder()).peer(false).gcInterval(Duration.ZERO).build();
  }

  /** {@code unix:///PATH}, {@code unix:/PATH} or a plain path. */
  private AttachMode attachMode() {
    try {
      return attach == null ? AttachMode.fromEnvironment() : AttachMode.parse(attach);
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }

  static Path socketPath(String endpoint) {
    String p = endpoint;
    if (p.startsWith("unix://")) {
      p = p.substring("unix://".length());
    } else if (p.startsWith("unix:")) {
      p = p.substring("unix:".length());
    }
    if (p.isEmpty() || p.contains("://")) {
      throw new UsageError("--endpoint must be unix:///PATH or a path: " + endpoint);
    }
    return Path.of(p).toAbsolutePath();
  }

  /** {@code java OPTS -cp CLASSPATH TorusCommand nbd} and the cluster options of this command. */
  private List<String> nbdCommand() {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String o : nbdJavaOptions.trim().split("\\s+")) {
      if (!o.isEmpty()) {
        cmd.add(o);
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        TorusCommand.class.getName(), "nbd"));
    cmd.addAll(List.of("--etcd", String.join(",", cluster.endpoints()),
        "--etcd-prefix", cluster.etcdPrefix));
    add(cmd, "--etcd-ca", cluster.etcdCa);
    add(cmd, "--etcd-cert", cluster.etcdCert);
    add(cmd, "--etcd-key", cluster.etcdKey);
    add(cmd, "--etcd-user", cluster.etcdUser);
    add(cmd, "--etcd-password-file", cluster.etcdPasswordFile);
    add(cmd, "--peer-tls-cert", cluster.peerTlsCert);
    add(cmd, "--peer-tls-key", cluster.peerTlsKey);
    add(cmd, "--peer-tls-ca", cluster.peerTlsCa);
    return cmd;
  }

  private static void add(List<String> cmd, String option, Object value) {
    if (value != null && !value.toString().isEmpty()) {
      cmd.add(option);
      cmd.add(value.toString());
    }
  }
}
