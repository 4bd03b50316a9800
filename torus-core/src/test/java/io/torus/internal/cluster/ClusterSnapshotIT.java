package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.MiniCluster;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots, clones, restore and garbage collection on a cluster: real etcd, two in-process
 * peers ({@link MiniCluster}), R=2, a client node writing while snapshots are taken.
 */
class ClusterSnapshotIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int SIZE = 4 << 20;

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void snapshotsClonesAndRestoreAcrossPeers() throws Exception {
    String prefix = "/snap";
    Random rnd = new Random(3);
    byte[] first = new byte[SIZE];
    rnd.nextBytes(first);
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(2)
        .etcd(ETCD.endpoints(), prefix).start();
        Torus c = peers.client(b -> b.ioTimeout(Duration.ofSeconds(10)))) {
      c.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
      peers.awaitRing(Duration.ofSeconds(60)); // both peers in the ring, as the client sees it
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
