package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Snapshots, clones, restore and garbage collection on a cluster: real etcd, two peer
 * processes, R=2, a client node writing while snapshots are taken.
 */
class ClusterSnapshotIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int SIZE = 4 << 20;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void snapshotsClonesAndRestoreAcrossPeers() throws Exception {
    String prefix = "/snap";
    Random rnd = new Random(3);
    byte[] first = new byte[SIZE];
    rnd.nextBytes(first);
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 2);
        Torus c = Torus.builder().etcd(ETCD.endpoints()).etcdPrefix(prefix).peer(false)
            .ioTimeout(Duration.ofSeconds(10)).gcInterval(Duration.ZERO).build()) {
      c.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (c.cluster().ring().map(r -> r.members().size()).orElse(0) < 2) {
        assertThat(System.nanoTime()).as("both peers in the ring").isLessThan(deadline);
        Thread.sleep(200);
      }
      byte[] second = first.clone();
      try (BlockVolume v = c.openVolume("v")) {
        v.write(0, ByteBuffer.wrap(first));
        v.flush();
        byte[] patch = new byte[SIZE / 4];
        rnd.nextBytes(patch);
        v.write(SIZE / 2, ByteBuffer.wrap(patch)); // not flushed: not in the snapshot
        System.arraycopy(patch, 0, second, SIZE / 2, patch.length);
        c.createSnapshot("v", "s1"); // while the volume is open and changing
        v.flush();
        assertThat(read(v)).isEqualTo(second);
      }
      try (BlockVolume s1 = c.openSnapshot("v", "s1")) {
        assertThat(read(s1)).as("snapshot = content at the last flush before it").isEqualTo(first);
      }
      c.cloneVolume("v", "s1", "c1");
      byte[] clone = first.clone();
      try (BlockVolume cv = c.openVolume("c1")) {
        byte[] mine = new byte[4096];
        rnd.nextBytes(mine);
        cv.write(0, ByteBuffer.wrap(mine));
        System.arraycopy(mine, 0, clone, 0, mine.length);
        cv.flush();
        assertThat(read(cv)).isEqualTo(clone);
      }
      try (BlockVolume v = c.openVolumeReadOnly("v")) {
        assertThat(read(v)).as("the clone's writes never show in the origin").isEqualTo(second);
      }
      c.restoreSnapshot("v", "s1");
      c.deleteSnapshot("v", "s1");
      assertThat(c.collectGarbage().deletedBlocks()).as("the replaced blocks").isPositive();
      try (BlockVolume v = c.openVolumeReadOnly("v"); BlockVolume cv = c.openVolumeReadOnly("c1")) {
        assertThat(read(v)).as("restored").isEqualTo(first);
        assertThat(read(cv)).as("clone intact after its snapshot was deleted").isEqualTo(clone);
      }
    }
  }

  private static byte[] read(BlockVolume v) {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    v.read(0, b);
    return b.array();
  }
}
