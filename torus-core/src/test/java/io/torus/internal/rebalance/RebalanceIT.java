package io.torus.internal.rebalance;

import static io.torus.internal.rebalance.RebalanceCluster.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rebalance, drain and re-replication across real peer processes (file stores, R=2) and a
 * real etcd. Data is sized for a 2-core machine: 64 MiB per volume (16 KiB blocks, 4096
 * blocks, 8192 copies) instead of the 512 MiB.
 */
class RebalanceIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final AtomicInteger TEST = new AtomicInteger();
  private static final long SIZE = 64L * MIB;
  private static final int BLOCK = 16 * 1024;

  private static String prefix() {
    return "/rb" + TEST.incrementAndGet();
  }

  private static List<String> options(String grace, long rate) {
    return List.of("-Dtorus.peer.grace=" + grace, "-Dtorus.peer.antiEntropy=PT2S",
        "-Dtorus.peer.rebalanceRate=" + rate, "-Dtorus.peer.scrubInterval=PT0S");
  }

  /**
   * 3 peers, R=2, 64 MiB: a 4th peer joins and ends with its share (within 15% of a quarter
   * of the copies), no block below R, data moved close to the ideal; then peer 0 is drained:
   * it ends holding nothing, every block has R copies on the other three, all data reads.
   */
  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void joinMovesItsShareAndDrainEmptiesAPeer() throws Exception {
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3,
        options("PT5M", 256L * MIB))) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(SIZE, BLOCK, 1);
      ClusterStatus before = c.awaitSettled(3, Duration.ofSeconds(60));
      c.assertFullyReplicated(before.ring(), 2, 0, 1, 2);
      long movedBefore = c.bytesMoved();
      long t0 = System.nanoTime();
      int fourth = c.peers.add();
      ClusterStatus after = c.awaitSettled(4, Duration.ofSeconds(120));
      double seconds = (System.nanoTime() - t0) / 1e9;
      Map<String, Integer> copies = c.assertFullyReplicated(after.ring(), 2, 0, 1, 2, fourth);
      int total = copies.values().stream().mapToInt(Integer::intValue).sum();
      int mine = copies.get(c.nodeId(fourth));
      double ideal = total / 4.0;
      long moved = c.bytesMoved() - movedBefore;
      System.out.printf("join: 4th peer holds %d of %d copies (ideal %.0f, %.1f%%); moved %d"
          + " bytes = %.3f of the stored copies (ideal 0.25) in %.1f s%n", mine, total, ideal,
          100.0 * mine / ideal, moved, (double) moved / (total * (long) BLOCK), seconds);
      assertThat((double) mine).isBetween(ideal * 0.85, ideal * 1.15);
      assertThat((double) moved).isLessThanOrEqualTo(1.2 * total * (long) BLOCK / 4.0);
      c.verify();

      c.meta.rebalance().requestDrain(c.nodeId(0));
      ClusterStatus drained = c.await("peer 0 out of the ring and every peer done",
          Duration.ofSeconds(120), s -> s.settled() && s.ring().members().size() == 3);
      assertThat(drained.targetMembers()).doesNotContain(c.nodeId(0));
      c.await("peer 0 empty", Duration.ofSeconds(60), s -> c.holdings(0).isEmpty());
      c.assertFullyReplicated(drained.ring(), 2, 1, 2, fourth);
      c.verify();
    }
  }
}
