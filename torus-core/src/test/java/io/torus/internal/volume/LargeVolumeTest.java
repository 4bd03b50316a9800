package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Extent;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A 1 TiB thin volume: costs nothing until written, and a whole-volume trim stays cheap. */
class LargeVolumeTest {
  private static final long TIB = 1L << 40;

  @Test
  void writeScatteredThenTrimEverything() {
    // 1 TiB on a 1 GiB store: past any overcommit ratio, so without the capacity guard
    try (Torus t = Torus.builder().overcommitRatio(0).build()) {
      t.createVolume(VolumeSpec.builder("big", TIB).replication(1).build());
      Random rnd = new Random(11);
      long[] offsets = new long[200];
      try (BlockVolume v = t.openVolume("big")) {
        for (int i = 0; i < offsets.length; i++) {
          offsets[i] = (long) (rnd.nextDouble() * (TIB / 4096 - 1)) * 4096;
          v.write(offsets[i], ByteBuffer.wrap(new byte[] {(byte) (i + 1)}));
        }
        v.flush();
        List<Extent> before = v.extents(0, TIB);
        assertThat(before.stream().filter(e -> !e.hole()).count()).isBetween(150L, 200L);
        v.trim(0, TIB); // 2^26 blocks: done in windows, never one entry per block
        assertThat(v.extents(0, TIB)).containsExactly(new Extent(0, TIB, true));
        v.flush();
      }
      try (BlockVolume v = t.openVolumeReadOnly("big")) {
        assertThat(v.extents(0, TIB)).containsExactly(new Extent(0, TIB, true));
        ByteBuffer b = ByteBuffer.allocate(1);
        v.read(offsets[0], b);
        assertThat(b.get(0)).isZero();
      }
    }
  }
}
