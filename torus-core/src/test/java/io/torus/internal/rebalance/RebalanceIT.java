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

  /**
   * Changing a volume's replication factor on a stable 3-peer ring: from 2 to 3 copies every
   * block gains a copy on its third owner; back to 1, the extra copies go and each block stays
   * on its owner alone; all data reads back at every step.
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void replicationChangeAddsAndRemovesCopies() throws Exception {
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3,
        options("PT5M", 256L * MIB))) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(16L * MIB, BLOCK, 4);
      ClusterStatus two = c.awaitSettled(3, Duration.ofSeconds(60));
      c.assertFullyReplicated(two.ring(), 2, 0, 1, 2);

      c.meta.setVolumeReplication("vol", 3);
      c.await("every block on all 3 peers", Duration.ofSeconds(120), s -> {
        try {
          return s.settled() && c.holdings(0).size() == c.holdings(1).size()
              && c.holdings(1).size() == c.holdings(2).size();
        } catch (RuntimeException e) {
          return false;
        }
      });
      ClusterStatus three = c.awaitSettled(3, Duration.ofSeconds(60));
      Map<String, Integer> copies3 = c.assertFullyReplicated(three.ring(), 3, 0, 1, 2);
      c.verify();

      c.meta.setVolumeReplication("vol", 1);
      int blocks = c.holdings(0).size(); // every peer held every block
      c.await("one copy per block", Duration.ofSeconds(120), s -> {
        try {
          return s.settled() && c.holdings(0).size() + c.holdings(1).size()
              + c.holdings(2).size() == blocks;
        } catch (RuntimeException e) {
          return false;
        }
      });
      ClusterStatus one = c.awaitSettled(3, Duration.ofSeconds(60));
      c.assertFullyReplicated(one.ring(), 1, 0, 1, 2);
      System.out.printf("replication 2 -> 3 -> 1: %s copies at 3, %d blocks%n", copies3, blocks);
      c.verify();
    }
  }

  /**
   * A peer killed with SIGKILL and left down past the grace period (3 s here): it leaves the
   * ring and every block returns to 2 copies on the two survivors; a second peer is then
   * killed and all data still reads back from the last one.
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void lostPeerIsReReplicatedThenASecondLossLosesNothing() throws Exception {
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3,
        options("PT3S", 256L * MIB))) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(SIZE, BLOCK, 2);
      c.awaitSettled(3, Duration.ofSeconds(60));
      String lost = c.nodeId(2);
      c.peers.kill(2);
      ClusterStatus s = c.await("peer 2 out of the ring, survivors done",
          Duration.ofSeconds(120), st -> st.settled() && st.ring().members().size() == 2);
      assertThat(s.targetMembers()).doesNotContain(lost);
      c.assertFullyReplicated(s.ring(), 2, 0, 1);
      c.peers.kill(1);
      c.verify();
    }
  }

  /**
   * A peer down for less than the grace period (60 s here) and restarted: the ring does not
   * change, no mass re-replication happens, and the blocks written while it was down get
   * their copies on it (anti-entropy).
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void shortOutageCausesNoStormAndHealsWritesMadeMeanwhile() throws Exception {
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3,
        options("PT60S", 256L * MIB))) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(SIZE, BLOCK, 3);
      ClusterStatus before = c.awaitSettled(3, Duration.ofSeconds(60));
      long movedBefore = c.bytesMoved();
      c.peers.kill(1);
      c.await("peer 1 down", Duration.ofSeconds(30), st -> st.peers().stream()
          .anyMatch(p -> !p.up()));
      c.overwrite(0, 4 * MIB, 33);
      c.peers.restart(1);
      ClusterStatus after = c.awaitSettled(3, Duration.ofSeconds(90));
      c.await("the copies written meanwhile in place", Duration.ofSeconds(60), st -> {
        try {
          c.assertFullyReplicated(st.ring(), 2, 0, 1, 2);
          return true;
        } catch (AssertionError | Exception e) {
          return false;
        }
      });
      assertThat(after.ringVersion()).isEqualTo(before.ringVersion());
      long moved = c.bytesMoved() - movedBefore;
      System.out.printf("short outage: %d bytes copied after 4 MiB written meanwhile%n", moved);
      assertThat(moved).isLessThan(2L * 4 * MIB + 64L * BLOCK);
      c.verify();
    }
  }

  /**
   * Blocks corrupted on one peer's disk (bytes flipped in its data files): scrub finds every
   * one, replaces it with a good copy from another peer and reports the count.
   */
  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void scrubRepairsCorruptCopiesAndCountsThem() throws Exception {
    List<String> opts = List.of("-Dtorus.peer.scrubInterval=PT1S",
        "-Dtorus.peer.scrubRate=" + 64L * MIB, "-Dtorus.peer.antiEntropy=PT30S");
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3, opts)) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(16L * MIB, BLOCK, 4);
      c.awaitSettled(3, Duration.ofSeconds(60));
      String victim = c.nodeId(0);
      long before = c.status().reports().get(victim).repaired();
      int corrupted = Corruption.flipBlocks(c, 0, 8);
      assertThat(corrupted).isEqualTo(8);
      ClusterStatus s = c.await("scrub repairs on peer 0", Duration.ofSeconds(90),
          st -> st.reports().get(victim).repaired() - before >= corrupted);
      System.out.println("scrub: " + s.reports().get(victim));
      assertThat(s.reports().get(victim).corruptFound()).isGreaterThanOrEqualTo(corrupted);
      for (var ref : c.holdings(0)) {
        assertThat(c.peerClient(0).get(ref, RebalanceCluster.D).join()).isNotNull();
      }
      c.verify();
    }
  }

  /**
   * While a 4th peer's share moves (slowly: 2 MiB/s per peer), a moving peer is killed with
   * SIGKILL and restarted, then etcd is frozen (SIGSTOP) for 4 s: no peer loses a copy while
   * etcd is away, the transition resumes and completes, every block has R copies, all data
   * reads back.
   */
  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void moveSurvivesAKilledMoverAndAnEtcdOutage() throws Exception {
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), prefix(), 3,
        options("PT5M", 2L * MIB))) {
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(SIZE, BLOCK, 5);
      c.awaitSettled(3, Duration.ofSeconds(90));
      long movedBefore = c.bytesMoved();
      int fourth = c.peers.add();
      c.await("the move under way", Duration.ofSeconds(60),
          st -> st.inTransition() && c.bytesMoved() - movedBefore > 2L * MIB);
      c.peers.kill(0);
      c.peers.restart(0);
      assertThat(c.status().inTransition()).isTrue();
      int[] before = new int[4];
      for (int i = 0; i < 4; i++) {
        before[i] = c.holdings(i).size();
      }
      ETCD.pauseAll();
      try {
        Thread.sleep(4000);
        for (int i = 0; i < 4; i++) {
          assertThat(c.holdings(i).size()).as("copies on peer %d while etcd is away", i)
              .isGreaterThanOrEqualTo(before[i]);
        }
      } finally {
        ETCD.resumeAll();
      }
      ClusterStatus s = c.awaitSettled(4, Duration.ofSeconds(180));
      c.assertFullyReplicated(s.ring(), 2, 0, 1, 2, fourth);
      c.verify();
    }
  }
}
