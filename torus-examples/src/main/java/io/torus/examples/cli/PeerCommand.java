package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Torus;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code torus peer ...}: list the cluster's peers, forget a removed one. */
@Command(name = "peer", mixinStandardHelpOptions = true,
    description = "List the cluster's peers; forget a peer that is gone for good.",
    subcommands = {PeerCommand.ListPeers.class, PeerCommand.Remove.class})
final class PeerCommand {

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List peers: id, address, up/down, capacity, used.")
  static final class ListPeers implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        print(torus.cluster().peers());
      }
      return 0;
    }
  }

  /** Prints a peer table. */
  static void print(List<ClusterAdmin.PeerInfo> peers) {
    System.out.printf("%-36s %-22s %-5s %10s %10s %5s%n", "ID", "ADDRESS", "STATE",
        "CAPACITY", "USED", "USE%");
    for (ClusterAdmin.PeerInfo p : peers) {
      System.out.printf("%-36s %-22s %-5s %10s %10s %5s%n", p.nodeId(), p.address(),
          p.up() ? "up" : "down", Size.human(p.capacityBytes()), Size.human(p.usedBytes()),
          percent(p.usedBytes(), p.capacityBytes()));
    }
  }

  static String percent(long used, long capacity) {
    return capacity <= 0 ? "-" : String.format("%.0f%%", 100.0 * used / capacity);
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = {"Forget a down peer (refused while it is up: stop it first).",
          "Its ring membership is kept: this version does not move its blocks elsewhere."})
  static final class Remove implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "ID", description = "The peer's node id.")
    String id;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        if (!torus.cluster().removePeer(id)) {
          throw new IllegalArgumentException("no peer '" + id + "' is registered");
        }
        System.out.printf("removed peer '%s' from the peer list%n", id);
        boolean inRing = torus.cluster().ring().map(r -> r.members().stream()
            .anyMatch(m -> m.nodeId().equals(id))).orElse(false);
        if (inRing) {
          System.out.println("note: it is still a ring member; blocks placed on it are read"
              + " from their other copies (rebalancing is not available in this version)");
        }
      }
      return 0;
    }
  }
}
