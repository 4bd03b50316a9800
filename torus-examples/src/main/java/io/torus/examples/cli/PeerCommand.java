package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Torus;
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
      description = {"List peers by id: address, up/down, capacity, used; a page at a time"
          + " (--limit, default 100).", "When more follow, the last line says how to get the"
          + " next page:", "  more: torus peer list ... --after ID", "--all prints every"
          + " page."})
  static final class ListPeers implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Mixin
    PageOptions page;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        header();
        page.print(torus.cluster()::peers, PeerCommand::row);
      }
      return 0;
    }
  }

  private static void header() {
    System.out.printf("%-36s %-22s %-5s %10s %10s %5s%n", "ID", "ADDRESS", "STATE",
        "CAPACITY", "USED", "USE%");
  }

  private static void row(ClusterAdmin.PeerInfo p) {
    System.out.printf("%-36s %-22s %-5s %10s %10s %5s%n", p.nodeId(), p.address(),
        p.up() ? "up" : "down", Size.human(p.capacityBytes()), Size.human(p.usedBytes()),
        percent(p.usedBytes(), p.capacityBytes()));
  }

  static String percent(long used, long capacity) {
    return capacity <= 0 ? "-" : String.format("%.0f%%", 100.0 * used / capacity);
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = {"Drain a live peer (its blocks move to the others), or forget a down one",
          "(its blocks are re-made from their other copies)."})
  static final class Remove implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @picocli.CommandLine.Option(names = "--wait",
        description = "Wait (with a progress bar) until every block has its copies.")
    boolean await;

    @picocli.CommandLine.Option(names = "--timeout", defaultValue = "PT1H",
        description = "How long --wait waits at most, ISO-8601 (default: ${DEFAULT-VALUE}).")
    java.time.Duration timeout;

    @Parameters(index = "0", paramLabel = "ID", description = "The peer's node id.")
    String id;

    @Override
    public Integer call() throws InterruptedException {
      try (Torus torus = node.open()) {
        boolean up = torus.cluster().peers().stream()
            .anyMatch(p -> p.nodeId().equals(id) && p.up());
        boolean inRing = torus.cluster().ring().map(r -> r.members().stream()
            .anyMatch(m -> m.nodeId().equals(id))).orElse(false);
        if (up && inRing) {
          torus.cluster().drainPeer(id);
          System.out.printf("peer '%s' is draining: its blocks are being copied to the other"
              + " peers. Watch 'torus status'; when it has left the ring, stop it and run"
              + " 'torus peer remove %s' again.%n", id, id);
          if (await && !ReplicationProgress.await(torus.cluster(), timeout, System.out)) {
            throw new IllegalStateException("peer '" + id + "' still draining after " + timeout
                + " (see 'torus status')");
          }
          return 0;
        }
        if (up) {
          throw new IllegalArgumentException("peer '" + id + "' is up and holds no ring"
              + " share: stop its node first, then remove it");
        }
        if (inRing) {
          torus.cluster().drainPeer(id); // down: its copies are re-made from the others
        }
        if (!torus.cluster().removePeer(id)) {
          throw new IllegalArgumentException("no peer '" + id + "' is registered");
        }
        System.out.printf("removed peer '%s'%s%n", id, inRing
            ? "; its blocks are re-replicated from their other copies (see 'torus status')"
            : "");
      }
      return 0;
    }
  }
}
