package io.torus.benchmarks.scale;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.Torus;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scale harness at a small size, as part of {@code mvn verify}: 12 peers in this JVM on a
 * real 3-member etcd, checked against the goals that do not depend on the cluster's size. A
 * peer at steady state writes nothing to etcd and reads at most a bounded amount (no polling
 * of the registry: a regression to polling every 500 ms shows as 2 reads/s per peer); every
 * peer sees a ring change within 1 s; a join moves at most 1.2 × the new peer's ideal share.
 * The large sizes are run by {@code benchmarks/scale/run-scale.sh} (see {@code scale.md}).
 */
class ScaleIT {
  private static final int PEERS = 12;

  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(3).build();

  @Test
  void smallClusterMeetsTheSizeIndependentGoals() throws Exception {
    ScalePoint.Options options = new ScalePoint.Options(Duration.ofSeconds(8), 16, 0, false,
        Duration.ofSeconds(60));
    ScaleResult r;
    try (PeerHost host = new PeerHost(ETCD.endpoints(), "/scale-it", 4L << 20, 4, 2,
        Duration.ofSeconds(10));
        Torus client = Torus.builder().etcd(ETCD.endpoints()).etcdPrefix("/scale-it")
            .peer(false).gcInterval(Duration.ZERO).build()) {
      r = new ScalePoint(List.of(host), ETCD.endpoints(), client, PEERS, options).run();
    }
    System.out.println(ScaleTable.markdown(List.of(r)));

    EtcdMetrics.Rates steady = r.steady();
    assertThat(steady.proposals()).as("etcd writes (raft proposals) per peer per second")
        .isLessThanOrEqualTo(0.1);
    assertThat(steady.keysWritten()).as("keys written per peer per second")
        .isLessThanOrEqualTo(0.1);
    assertThat(steady.range()).as("etcd reads per peer per second").isLessThanOrEqualTo(1.0);
    assertThat(steady.keepAlives()).as("lease keep-alives per peer per second (10 s TTL)")
        .isGreaterThan(0).isLessThanOrEqualTo(0.5);

    for (double[] p : List.of(r.joinPropagation(), r.drainPropagation())) {
      assertThat(p[4]).as("peers that never saw the ring change").isZero();
      assertThat(p[1]).as("ring change p99 after the first peer, ms").isLessThanOrEqualTo(1000);
    }
    assertThat(r.joinMoved()).as("bytes a join moved").isPositive()
        .isLessThanOrEqualTo((long) (1.2 * r.joinIdeal()));
    assertThat(r.drainMoved()).as("bytes a drain moved").isPositive()
        .isLessThanOrEqualTo((long) (1.2 * r.drainIdeal()));
  }
}
