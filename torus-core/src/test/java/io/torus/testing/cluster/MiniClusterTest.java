package io.torus.testing.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockVolume;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.testing.Blocks;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three in-process peers over the peer protocol: replication, a killed peer, a restart. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MiniClusterTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  @Test
  void aFlushedVolumeStaysReadableWithOnePeerKilledAndAfterItRestarts() {
    try (MiniCluster c = MiniCluster.builder(dir).nodes(3).start()) {
      c.awaitRing(Duration.ofSeconds(20));
      Torus writer = c.node(0);
      writer.createVolume(VolumeSpec.builder("v", 8 * MIB).replication(2).build());
      ByteBuffer data = Blocks.block(42, 4 * MIB);
      try (BlockVolume v = writer.openVolume("v")) {
        v.write(MIB, data.duplicate());
        v.flush();
      }
      assertThat(c.node(2).cluster().peers()).extracting(ClusterAdmin.PeerInfo::up)
          .containsOnly(true).hasSize(3);

      c.kill(1); // every block had a copy on a peer other than node-1
      for (int reader : new int[] {0, 2}) {
        try (BlockVolume v = c.node(reader).openVolumeReadOnly("v")) {
          ByteBuffer got = ByteBuffer.allocate(4 * MIB);
          v.read(MIB, got);
          assertThat(got.flip()).as("read on node %d", reader).isEqualTo(data);
        }
      }

      c.restart(1);
      try (BlockVolume v = c.node(1).openVolume("v")) {
        ByteBuffer got = ByteBuffer.allocate(4 * MIB);
        v.read(MIB, got);
        assertThat(got.flip()).isEqualTo(data);
      }
    }
  }

  @Test
  void aPeerCutOffByItsProxiesFailsTheFlushOfAWriterThatNeedsIt() {
    try (MiniCluster c = MiniCluster.builder(dir).nodes(2).configure(b -> b
        .peerTimeout(Duration.ofMillis(500))).start()) {
      c.awaitRing(Duration.ofSeconds(20));
      c.node(0).createVolume(VolumeSpec.builder("w", 4 * MIB).replication(2).build());
      try (BlockVolume v = c.node(0).openVolume("w")) {
        v.write(0, Blocks.block(1, MIB));
        v.flush();
        c.proxy(0, 1).mode(FaultProxy.Mode.CUT); // node-0 can no longer reach node-1
        assertThatThrownBy(() -> {
          v.write(0, Blocks.block(2, MIB)); // a full block may be put at once
          v.flush();
        }).isInstanceOf(TorusException.class).hasMessageContaining("node-1");
      } catch (TorusException e) {
        // closing a volume whose flush failed reports it again
        assertThat(e.getMessage()).isNotBlank();
      }
    }
  }
}
