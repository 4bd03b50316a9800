package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.MiniCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer whose disk was replaced (its store wiped) gets its shards back: the rebalancer's
 * stripe check rebuilds them from the other shards of their stripes, so the volume survives
 * the loss of another peer afterwards; scrub finds no stripe inconsistent meanwhile.
 */
class ErasureRepairTest {
  private static final int BLOCK = 4096;

  @TempDir
  Path dir;

  @Test
  void aWipedPeersShardsAreRebuiltAndTheStripesHealthyAgain() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (MiniCluster cluster = MiniCluster.builder(dir).nodes(3).storeCapacity(64L << 20)
        .configure(n -> n.cacheBytes(0).meterRegistry(meters)
            .antiEntropyInterval(Duration.ofMillis(500)).scrubInterval(Duration.ofMillis(500)))
        .start()) {
      cluster.awaitRing(Duration.ofSeconds(30));
      Torus torus = cluster.node(0);
      int size = 96 * BLOCK;
      torus.createVolume(VolumeSpec.builder("r", size).blockSize(BLOCK).erasure(2, 1).build());
      byte[] model = new byte[size];
      new Random(21).nextBytes(model);
      try (BlockVolume v = torus.openVolume("r")) {
        v.write(0, ByteBuffer.wrap(model));
        v.flush();
      }

      cluster.kill(2);
      deleteTree(cluster.storeDirectory(2)); // a replaced disk
      cluster.restart(2);
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      double moved = 0;
      while (System.nanoTime() < deadline) {
        moved = sum(meters, "torus.rebalance.moved");
        if (moved >= 32 * BLOCK) { // node 2 held about a third of 144 shards
          break;
        }
        Thread.sleep(200);
      }
      System.out.printf("ErasureRepairTest: %.0f bytes rebuilt or re-replicated%n", moved);
      Thread.sleep(2000); // let passes that are under way finish their pages

      // full redundancy again: node 1 lost now, every byte still reads
      cluster.kill(1);
      try (BlockVolume v = torus.openVolumeReadOnly("r")) {
        ByteBuffer all = ByteBuffer.allocate(size);
        v.read(0, all);
        assertThat(all.array()).as("with the rebuilt peer and without node 1")
            .isEqualTo(model);
      }
      assertThat(moved).isGreaterThanOrEqualTo(32 * BLOCK);
      assertThat(sum(meters, "torus.scrub.inconsistent.stripes")).isZero();
    }
  }

  private static double sum(SimpleMeterRegistry meters, String name) {
    return meters.find(name).functionCounters().stream().mapToDouble(FunctionCounter::count)
        .sum();
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
