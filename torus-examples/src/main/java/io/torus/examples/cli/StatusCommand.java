package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Page;
import io.torus.Torus;
import io.torus.VolumeInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code torus status}: the cluster's health as far as this version can tell: peers up and
 * down, capacity and use (and a warning past the used share), what the volumes provision
 * against the overcommit limit, the ring, the volumes and their limits (the first
 * {@value #SHOWN}; the rest counted, with the {@code volume list} that pages through them), and
 * which volumes may lack copies.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Cluster health: peers up/down, capacity and use, provisioned space, ring,",
        "volumes, and volumes that may be short of copies while peers are down."})
final class StatusCommand implements Callable<Integer> {
  /** Volumes listed by name; the rest are counted. */
  static final int SHOWN = 100;
  /** Volumes read a page while counting. */
  private static final int COUNT_PAGE = 1000;

  @Mixin
  NodeOptions node;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /**
   * What {@code ringDown} ring members down mean for {@code v}: a replicated volume loses a
   * block with all its copies, an erasure-coded one a stripe with more than M of its blocks
   * (its replication, M+1, counts the same).
   */
  private static String health(VolumeInfo v, long ringDown) {
    if (v.erasureCoded()) {
      return ringDown == 0 ? "all blocks on peers up"
          : ringDown < v.replication() ? "readable; stripes with blocks on the " + ringDown
              + " down peer(s) have less parity until they return"
          : "AT RISK: stripes may have more than " + v.erasure().parityShards()
              + " blocks on down peers";
    }
    return ringDown == 0 ? "all copies on peers up"
        : ringDown < v.replication() ? "readable; blocks on the " + ringDown
            + " down peer(s) have fewer copies until they return"
        : "AT RISK: blocks may have every copy on a down peer";
  }

  /**
   * The space line: provisioned against the overcommit limit, and a WARNING past the used
   * share the capacity guard warns at.
   */
  static void printSpace(ClusterAdmin.Capacity s) {
    String ratio = s.overcommitRatio() == Math.rint(s.overcommitRatio())
        ? Long.toString((long) s.overcommitRatio()) : Double.toString(s.overcommitRatio());
    System.out.printf("space: volumes provision %s (copies and parity counted) of %s%n",
        Size.human(s.provisionedBytes()), s.overcommitRatio() == 0
            ? "no limit (overcommit check off)"
            : s.rawBytes() == 0 ? "no limit yet (no capacity known)"
            : Size.human(s.provisionLimit()) + " allowed (overcommit " + ratio + " x "
                + Size.human(s.rawBytes()) + " raw)");
    if (s.nearlyFull()) {
      System.out.printf("WARNING: %s of %s in use (%s), past the %s warning threshold; add"
          + " capacity or delete data%n", Size.human(s.usedBytes()), Size.human(s.rawBytes()),
          PeerCommand.percent(s.usedBytes(), s.rawBytes()),
          PeerCommand.percent((long) (s.warnRatio() * 1000), 1000));
    }
  }

  /**
   * The volumes: how many (read a page at a time, never all at once), the first
   * {@link #SHOWN} with their health, then how many more and how many of those are at risk,
   * and the command that lists the rest.
   */
  private void printVolumes(Torus torus, long ringDown) {
    long count = 0;
    long hiddenAtRisk = 0;
    List<VolumeInfo> shown = new ArrayList<>();
    String cursor = null;
    do {
      Page<VolumeInfo> p = torus.volumes(cursor, COUNT_PAGE);
      for (VolumeInfo v : p.items()) {
        count++;
        if (shown.size() < SHOWN) {
          shown.add(v);
        } else if (health(v, ringDown).startsWith("AT RISK")) {
          hiddenAtRisk++;
        }
      }
      cursor = p.next();
    } while (cursor != null);
    System.out.printf("volumes: %d%n", count);
    for (VolumeInfo v : shown) {
      System.out.printf("  %-24s %10s %s: %s%s%n", v.name(), Size.format(v.size()),
          VolumeCommand.copies(v), health(v, ringDown), v.qos().unlimited() ? ""
              : "; limits " + VolumeCommand.qos(v.qos()));
    }
    if (count > shown.size()) {
      System.out.printf("  ... and %d more%s%n", count - shown.size(), hiddenAtRisk == 0 ? ""
          : ", " + hiddenAtRisk + " of them AT RISK");
      System.out.println("more: " + PageOptions.nextPage(PageOptions.originalArgs(spec),
          List.of("volume", "list"), shown.get(shown.size() - 1).name()));
    }
  }

  @Override
  public Integer call() {
    try (Torus torus = node.openView()) {
      ClusterAdmin c = torus.cluster();
      List<ClusterAdmin.PeerInfo> peers = c.peers();
      long up = peers.stream().filter(ClusterAdmin.PeerInfo::up).count();
      long cap = peers.stream().filter(ClusterAdmin.PeerInfo::up)
          .mapToLong(ClusterAdmin.PeerInfo::capacityBytes).sum();
      long used = peers.stream().filter(ClusterAdmin.PeerInfo::up)
          .mapToLong(ClusterAdmin.PeerInfo::usedBytes).sum();
      System.out.println(c.defaults().map(d -> String.format(
          "cluster: initialised %s; new volumes get %s, %s blocks", d.initialized(),
          d.erasure() == null ? d.replication() + " copies" : VolumeCommand.redundancy(
              d.erasure().mapCopies(), d.erasure()), Size.format(d.blockSize())))
          .orElse(c.clustered() ? (node.data != null ? "cluster in one process (no etcd)"
              : "cluster: not initialised (run 'torus init')") : "local node (no etcd)"));
      System.out.printf("peers: %d up, %d down; capacity %s, used %s (%s) on peers up%n", up,
          peers.size() - up, Size.human(cap), Size.human(used), PeerCommand.percent(used, cap));
      printSpace(c.capacity());
      for (ClusterAdmin.PeerInfo p : peers) {
        if (!p.up()) {
          System.out.printf("  DOWN %s (%s), last reported %s used%n", p.nodeId(),
              p.address(), Size.human(p.usedBytes()));
        }
      }
      Set<String> down = peers.stream().filter(p -> !p.up())
          .map(ClusterAdmin.PeerInfo::nodeId).collect(Collectors.toSet());
      long ringDown = c.ring().map(r -> {
        System.out.printf("ring: version %d, %s, %d members%n", r.version(), r.type(),
            r.members().size());
        return r.members().stream().filter(m -> down.contains(m.nodeId())).count();
      }).orElseGet(() -> {
        System.out.println("ring: none yet (no peer has joined)");
        return 0L;
      });
      printVolumes(torus, ringDown);
      c.replication().ifPresent(r -> {
        System.out.printf("replication: ring %d%s; %d copies missing, %s to move",
            r.ringVersion(), r.inTransition() ? " (blocks moving to a new ring)" : "",
            r.underReplicated(), Size.human(r.bytesToMove()));
        if (r.rateBytesPerSecond() > 0) {
          System.out.printf(" at %s/s", Size.human(r.rateBytesPerSecond()));
        }
        if (r.etaSeconds() >= 0 && !r.settled()) {
          System.out.printf(", about %d s left", r.etaSeconds());
        }
        System.out.printf("; %s%n", r.settled() ? "settled" : "not settled yet");
        if (r.scrubRepaired() > 0) {
          System.out.printf("scrub: %d corrupt copies replaced%n", r.scrubRepaired());
        }
      });
      return 0;
    }
  }
}
