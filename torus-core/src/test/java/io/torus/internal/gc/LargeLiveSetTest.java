package io.torus.internal.gc;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.GcResult;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Past {@link LiveSet#EXACT_LIMIT} addressable blocks the live data refs are kept in a Bloom
 * filter: live data is never deleted, and nearly all garbage still is.
 */
class LargeLiveSetTest {
  private static final int BS = 4096;

  @Test
  void aThinVolumeLargerThanTheExactLimitKeepsLiveDataAndDropsGarbage() {
    long size = (LiveSet.EXACT_LIMIT * 4) * BS; // 16 GiB thin: the filter path
    // 16 GiB on a 1 GiB store: past any overcommit ratio, so without the capacity guard
    try (Torus t = Torus.builder().gcInterval(java.time.Duration.ZERO).overcommitRatio(0)
        .build()) {
      t.createVolume(VolumeSpec.builder("big", size).blockSize(BS).replication(1).build());
      byte[] model = new byte[512 * BS];
      Random rnd = new Random(7);
      try (BlockVolume v = t.openVolume("big")) {
        for (int round = 0; round < 4; round++) { // each round makes the last one garbage
          rnd.nextBytes(model);
          v.write(size / 2, ByteBuffer.wrap(model));
          v.flush();
        }
      }
      GcResult r = t.collectGarbage();
      // 3 rounds of 512 data blocks are garbage (plus their map nodes); at 1 % false
      // positives, far more than 1 400 of them go
      assertThat(r.deletedBlocks()).isGreaterThan(1400);
      try (BlockVolume v = t.openVolumeReadOnly("big")) {
        ByteBuffer back = ByteBuffer.allocate(model.length);
        v.read(size / 2, back);
        assertThat(Arrays.equals(back.array(), model)).as("live data intact").isTrue();
      }
    }
  }
}
