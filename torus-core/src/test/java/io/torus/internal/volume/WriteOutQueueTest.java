package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The engine's bookkeeping stays bounded by the blocks it buffers, not by the operations. */
class WriteOutQueueTest {
  private static final int BS = 4096;

  @Test
  void repeatedWriteAndTrimOfOneBlockWithoutAFlushKeepsTheQueueBounded() {
    try (Torus t = Torus.builder().build()) {
      t.createVolume(VolumeSpec.builder("v", 1 << 20).blockSize(BS).replication(1).build());
      try (BlockVolume v = t.openVolume("v")) {
        ByteBuffer data = ByteBuffer.allocate(BS);
        for (int i = 0; i < 200_000; i++) {
          v.write(0, data.clear());
          v.trim(0, BS);
        }
        v.write(BS, data.clear()); // one block in memory at the end
        assertThat(((VolumeEngine) v).queuedForWriteOut())
            .isLessThanOrEqualTo(2 + DirtyBuffer.QUEUE_SLACK + 1);
        v.flush();
        ByteBuffer back = ByteBuffer.allocate(BS);
        v.read(0, back);
        assertThat(back.array()).containsOnly((byte) 0);
      }
    }
  }
}
