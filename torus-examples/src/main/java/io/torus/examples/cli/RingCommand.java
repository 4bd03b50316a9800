package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Torus;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code torus ring ...}: show the placement ring; set the cluster's target replication. */
@Command(name = "ring", mixinStandardHelpOptions = true,
    description = "Show the ring blocks are placed by; set the cluster's replication.",
    subcommands = {RingCommand.Show.class, RingCommand.SetReplication.class})
final class RingCommand {

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Show the ring: version, type, members with their weight and state.")
  static final class Show implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        ClusterAdmin c = torus.cluster();
        ClusterAdmin.RingInfo ring = c.ring().orElse(null);
        if (ring == null) {
          System.out.println("no ring yet: it is made when the first peer joins");
          return 0;
        }
        Map<String, ClusterAdmin.PeerInfo> peers = c.peers().stream()
            .collect(Collectors.toMap(ClusterAdmin.PeerInfo::nodeId, Function.identity()));
        System.out.printf("ring version %d, %s, %d members, %d bytes%n", ring.version(),
            ring.type(), ring.members().size(), ring.encodedBytes());
        c.defaults().ifPresent(d -> System.out.printf("target replication %d%n",
            d.replication()));
        System.out.printf("%-36s %10s %-7s%n", "MEMBER", "WEIGHT", "STATE");
        for (ClusterAdmin.RingMember m : ring.members()) {
          ClusterAdmin.PeerInfo p = peers.get(m.nodeId());
          System.out.printf("%-36s %10s %-7s%n", m.nodeId(), Size.human(m.weight()),
              p == null ? "unknown" : p.up() ? "up" : "down");
        }
      }
      return 0;
    }
  }

  @Command(name = "set-replication", mixinStandardHelpOptions = true,
      description = {"Set the cluster's target replication: new volumes get N copies.",
          "This version records the target only: existing volumes keep their copies until"
              + " re-replication is available."})
  static final class SetReplication implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @picocli.CommandLine.Option(names = "--wait",
        description = "Wait (with a progress bar) until every block has its copies.")
    boolean await;

    @picocli.CommandLine.Option(names = "--timeout", defaultValue = "PT1H",
        description = "How long --wait waits at most, ISO-8601 (default: ${DEFAULT-VALUE}).")
    java.time.Duration timeout;

    @Parameters(index = "0", paramLabel = "N", description = "Copies of each block, 1 to 16.")
    int replication;

    @Override
    public Integer call() throws InterruptedException {
      try (Torus torus = node.open()) {
        ClusterAdmin.Defaults d = torus.cluster().setReplication(replication);
        System.out.printf("replication is now %d: new volumes get %d copies, and every volume"
            + " is being brought to %d copies (watch 'torus status')%n", d.replication(),
            d.replication(), d.replication());
        long coded = torus.volumes().stream().filter(io.torus.VolumeInfo::erasureCoded).count();
        if (coded > 0) {
          System.out.printf("%d erasure-coded volume(s) keep their policy (map nodes M+1"
              + " copies)%n", coded);
        }
        if (d.erasure() != null) {
          System.out.printf("new volumes without --replication or --erasure still get the"
              + " cluster's default, erasure %s%n", d.erasure());
        }
        long up = torus.cluster().peers().stream().filter(ClusterAdmin.PeerInfo::up).count();
        if (up < replication) {
          System.out.printf("warning: only %d peer(s) are up, fewer than %d%n", up,
              replication);
        }
        if (await && !ReplicationProgress.await(torus.cluster(), timeout, System.out)) {
          throw new IllegalStateException("not every block had " + replication
              + " copies after " + timeout + " (see 'torus status')");
        }
      }
      return 0;
    }
  }
}
