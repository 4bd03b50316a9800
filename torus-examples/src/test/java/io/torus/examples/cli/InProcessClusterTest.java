package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's cluster: three peers in one process over the peer protocol, two copies of every
 * block on different peers, so any one peer can be killed and every flushed byte still reads.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InProcessClusterTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path data;

  @Test
  void killingAnyOnePeerLosesNoFlushedData() {
    byte[] bytes = new byte[16 * MIB];
    new Random(7).nextBytes(bytes);
    try (InProcessCluster c = InProcessCluster.start(data, 3, "file", 256L << 20, null,
        Duration.ZERO)) {
      Torus first = c.peer(0);
      first.createVolume(VolumeSpec.builder("demo", 64 * MIB).replication(2).build());
      try (BlockVolume v = first.openVolume("demo")) {
        v.write(3 * MIB, ByteBuffer.wrap(bytes));
        v.flush();
      }
      assertThat(first.cluster().peers()).extracting(ClusterAdmin.PeerInfo::up)
          .containsExactly(true, true, true);
      c.peer(1).close(); // a peer stops without its blocks going anywhere
      for (int reader : new int[] {0, 2}) {
        try (BlockVolume v = c.peer(reader).openVolumeReadOnly("demo")) {
          ByteBuffer got = ByteBuffer.allocate(bytes.length);
          v.read(3 * MIB, got);
          assertThat(got.array()).as("read through peer-%d", reader).isEqualTo(bytes);
        }
      }
    }
  }

  @Test
  void aStoppedClusterShowsItsPeersDownAndRestartsWithItsData() {
    byte[] bytes = new byte[2 * MIB];
    new Random(8).nextBytes(bytes);
    try (InProcessCluster c = InProcessCluster.start(data, 3, "file", 64L << 20, null,
        Duration.ZERO)) {
      c.peer(0).createVolume(VolumeSpec.builder("demo", 8 * MIB).replication(2).build());
      try (BlockVolume v = c.peer(0).openVolume("demo")) {
        v.write(0, ByteBuffer.wrap(bytes));
        v.flush();
      }
    }
    assertThat(InProcessCluster.isLayout(data)).isTrue();
    assertThat(InProcessCluster.peerCount(data)).isEqualTo(3);
    try (Torus view = InProcessCluster.viewer(data)) {
      assertThat(view.cluster().peers()).extracting(p -> p.nodeId() + "=" + p.up())
          .containsExactly("peer-0=false", "peer-1=false", "peer-2=false");
      assertThat(view.cluster().ring().orElseThrow().members()).hasSize(3);
      assertThat(view.volume("demo").replication()).isEqualTo(2);
    }
    try (Torus again = InProcessCluster.start(data, 3, "file", 64L << 20, null,
        Duration.ZERO).asTorus(); BlockVolume v = again.openVolumeReadOnly("demo")) {
      ByteBuffer got = ByteBuffer.allocate(bytes.length);
      v.read(0, got);
      assertThat(got.array()).isEqualTo(bytes);
    }
  }
}
