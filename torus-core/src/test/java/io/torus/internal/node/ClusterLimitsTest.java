package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.BlockVolume;
import io.torus.ClusterAdmin;
import io.torus.ErrorCode;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeQos;
import io.torus.VolumeSpec;
import io.torus.internal.volume.VolumeEngine;
import io.torus.testing.cluster.MiniCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The capacity guard on a local node and on an in-process cluster (its refusals, their
 * numbers, the warning past the used share), and QoS limits set through one node reaching a
 * handle open on another.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterLimitsTest {
  private static final long MIB = 1 << 20;

  @TempDir
  Path dir;

  private static VolumeSpec spec(String name, long size, int replication) {
    return VolumeSpec.builder(name, size).blockSize(4096).replication(replication).build();
  }

  private static TorusException enospc(Runnable r) {
    try {
      r.run();
    } catch (TorusException e) {
      assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.ENOSPC);
      return e;
    }
    throw new AssertionError("not refused");
  }

  @Test
  void aLocalNodeRefusesToProvisionPastFourTimesItsStores() {
    try (Torus t = Torus.builder().storeCapacity(64 * MIB).build()) { // limit 256 MiB
      t.createVolume(spec("a", 100 * MIB, 1));
      t.createVolume(spec("b", 100 * MIB, 1));
      TorusException e = enospc(() -> t.createVolume(spec("c", 64 * MIB, 1)));
      assertThat(e.getMessage()).startsWith("creating volume 'c' of 67108864 bytes (64.0 MiB)"
          + " with 1 copy refused: it provisions 67108864 bytes (64.0 MiB), the volumes already"
          + " 209715200 bytes (200.0 MiB), together 276824064 bytes (264.0 MiB), past the"
          + " limit of 268435456 bytes (256.0 MiB) = overcommit ratio 4 x the raw capacity of"
          + " this node's stores, 67108864 bytes (64.0 MiB)");
      assertThat(t.volumes()).extracting(VolumeInfo::name).containsExactly("a", "b");

      assertThat(t.resizeVolume("a", 150 * MIB).size()).isEqualTo(150 * MIB); // 250 MiB
      assertThat(enospc(() -> t.resizeVolume("a", 160 * MIB)).getMessage())
          .startsWith("growing volume 'a' by 10485760 bytes (10.0 MiB) with 1 copy refused");
      assertThat(t.volume("a").size()).isEqualTo(150 * MIB);
      t.createSnapshot("b", "s");
      assertThat(enospc(() -> t.cloneVolume("b", "s", "b2")).getMessage())
          .startsWith("cloning b@s of 104857600 bytes (100.0 MiB) with 1 copy into volume"
              + " 'b2' refused");

      ClusterAdmin.Capacity c = t.cluster().capacity();
      assertThat(c.rawBytes()).isEqualTo(64 * MIB);
      assertThat(c.provisionedBytes()).isEqualTo(250 * MIB);
      assertThat(c.overcommitRatio()).isEqualTo(4.0);
      assertThat(c.provisionLimit()).isEqualTo(256 * MIB);
      assertThat(c.warnRatio()).isEqualTo(0.8);
      t.deleteSnapshot("b", "s");
      t.deleteVolume("b");
      t.createVolume(spec("c", 64 * MIB, 1)); // room again
    }
    try (Torus t = Torus.builder().storeCapacity(64 * MIB).overcommitRatio(0).build()) {
      t.createVolume(spec("huge", 1L << 40, 1)); // no check
      assertThat(t.cluster().capacity().provisionLimit()).isEqualTo(Long.MAX_VALUE);
    }
  }

  @Test
  void aLocalNodeWarnsWhenItsStoresPassTheUsedShare() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Torus t = Torus.builder().storeCapacity(4 * MIB).spaceWarningRatio(0.5)
        .meterRegistry(registry).build()) {
      TorusNode node = (TorusNode) t;
      t.createVolume(spec("v", 4 * MIB, 1));
      assertThat(node.guard().checkUsage()).isFalse();
      assertThat(registry.get("torus.capacity.warning").gauge().value()).isZero();
      try (BlockVolume v = t.openVolume("v")) {
        byte[] data = new byte[(int) (3 * MIB)];
        new java.util.Random(3).nextBytes(data); // not all zeroes: stored
        v.write(0, ByteBuffer.wrap(data));
        v.flush();
      }
      assertThat(registry.get("torus.capacity.used.ratio").gauge().value()).isGreaterThan(0.7);
      assertThat(registry.get("torus.capacity.warning").gauge().value()).isOne();
      assertThat(t.cluster().capacity().nearlyFull()).isTrue();
      assertThat(node.guard().checkUsage()).as("logged").isTrue();
      assertThat(node.guard().checkUsage()).as("rate-limited").isFalse();
    }
  }

  @Test
  void aClusterCountsCopiesAndParityOfEveryVolumeAndLimitsReachOtherNodes() throws Exception {
    try (MiniCluster c = MiniCluster.builder(dir).nodes(3).storeCapacity(64 * MIB)
        .configure(b -> b.qosRefresh(Duration.ofMillis(100))).start()) {
      c.awaitRing(Duration.ofSeconds(20));
      Torus a = c.node(0);
      Torus b = c.node(1);
      ClusterAdmin.Capacity cap = b.cluster().capacity();
      assertThat(cap.rawBytes()).isEqualTo(3 * 64 * MIB); // limit 768 MiB
      a.createVolume(spec("r2", 300 * MIB, 2)); // 600 MiB
      a.createVolume(VolumeSpec.builder("ec", 100 * MIB).blockSize(4096).erasure(2, 1)
          .build()); // 150 MiB: 750 MiB
      assertThat(b.cluster().capacity().provisionedBytes()).isEqualTo(750 * MIB);
      TorusException e = enospc(() -> b.createVolume(spec("more", 10 * MIB, 2)));
      assertThat(e.getMessage()).contains("with 2 copies refused: it provisions 20971520"
          + " bytes (20.0 MiB), the volumes already 786432000 bytes (750.0 MiB)")
          .contains("x the raw capacity of the peers up, 201326592 bytes (192.0 MiB)");
      assertThat(enospc(() -> a.resizeVolume("ec", 120 * MIB)).getMessage())
          .contains("growing volume 'ec' by 20971520 bytes (20.0 MiB) with erasure 2+1");
      b.createVolume(spec("last", 9 * MIB, 2)); // 768 MiB: at the limit, allowed

      // limits set through node 1 reach a handle open on node 0 within its qosRefresh
      VolumeQos qos = new VolumeQos(100, 50, 0, 0);
      try (BlockVolume v = a.openVolume("r2")) {
        assertThat(((VolumeEngine) v).qos()).isEqualTo(VolumeQos.UNLIMITED);
        assertThat(b.setVolumeQos("r2", qos).qos()).isEqualTo(qos);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!((VolumeEngine) v).qos().equals(qos) && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertThat(((VolumeEngine) v).qos()).isEqualTo(qos);
      }
      try (BlockVolume v = b.openVolumeReadOnly("r2")) { // a new handle reads them at open
        assertThat(((VolumeEngine) v).qos()).isEqualTo(qos);
      }
    }
  }
}
