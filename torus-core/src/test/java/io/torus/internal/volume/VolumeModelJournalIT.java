package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.testing.cluster.MiniCluster;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link VolumeModelTest}'s random operations on three in-process peers coordinated by a real
 * etcd, where flushes commit to the flush journal: reads, extents and partial blocks over the
 * journaled layer, head commits by time, on close and on reopen, and read-only handles on
 * another node that must show exactly what was flushed (the journal overlaid on the head).
 */
class VolumeModelJournalIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} blocks, dirty {1}, cache {2}")
  @CsvSource({
      "4096, 65536, 0",
      "65536, 262144, 1048576",
  })
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void randomOperationsMatchModel(int blockSize, long dirty, long cache) {
    long seed = Long.getLong("torus.seed", System.nanoTime());
    System.out.printf("VolumeModelJournalIT seed %d (block %d)%n", seed, blockSize);
    int size = blockSize * 40 + 512 * 3;
    try (MiniCluster cluster = MiniCluster.builder(dir).nodes(3)
        .etcd(ETCD.endpoints(), "/model-" + blockSize)
        .configure(n -> n.dirtyBytes(dirty).cacheBytes(cache)).start()) {
      cluster.awaitRing(Duration.ofSeconds(60));
      Torus writer = cluster.node(0);
      byte[] model = new byte[size];
      VolumeModelTest.runModel(writer, cluster.node(1), blockSize, size, 2, seed, 800, model);
      // closed: everything is in the head, as a third node reads it
      try (BlockVolume v = cluster.node(2).openVolumeReadOnly("m")) {
        ByteBuffer all = ByteBuffer.allocate(size);
        v.read(0, all);
        assertThat(all.array()).as("seed %d after close, on another node", seed)
            .isEqualTo(model);
      }
    }
  }
}
