package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A sector-aligned write into part of a committed block reads nothing (the block's other
 * sectors stay in the committed map) and is merged with them when read, written out and
 * committed; an unaligned write into such a block merges first.
 */
class PartialBlockTest {
  private static final int BS = 16384;
  private static final int SECTOR = 4096;

  @Test
  void alignedPartialWritesDoNotReadTheOldBlockAndMergeLater() {
    TestStore store = new TestStore();
    try (Torus t = Torus.builder().addStore(store).cacheBytes(0).gcInterval(Duration.ZERO)
        .build()) {
      t.createVolume(VolumeSpec.builder("v", 8 * BS).blockSize(BS).replication(1).build());
      byte[] model = new byte[8 * BS];
      try (BlockVolume v = t.openVolume("v")) {
        write(v, model, 0, 8 * BS, 1); // committed content under everything below
        v.flush();
        int before = store.dataGets.get();
        write(v, model, SECTOR, SECTOR, 2); // block 0, second sector
        write(v, model, BS + 3 * SECTOR, SECTOR, 3); // block 1, last sector
        write(v, model, 2 * BS, 2 * SECTOR, 4); // block 2, first half
        write(v, model, 2 * BS + 3 * SECTOR, SECTOR, 5); // block 2, fourth sector
        assertThat(store.dataGets.get()).as("aligned partial writes read no block")
            .isEqualTo(before);
        check(v, model, "before the flush");
        write(v, model, BS + 100, 50, 6); // unaligned into a partial block: merged first
        write(v, model, 2 * BS + 2 * SECTOR, SECTOR, 7); // the last gap: block 2 is whole
        check(v, model, "after an unaligned write");
        v.flush();
        check(v, model, "after the flush");
      }
      try (BlockVolume v = t.openVolumeReadOnly("v")) {
        check(v, model, "reopened");
      }
    }
  }

  @Test
  void partialBlocksWrittenOutEarlyKeepTheirCommittedSectors() {
    TestStore store = new TestStore();
    try (Torus t = Torus.builder().addStore(store).cacheBytes(0).dirtyBytes(4 * BS)
        .gcInterval(Duration.ZERO).build()) {
      t.createVolume(VolumeSpec.builder("v", 64 * BS).blockSize(BS).replication(1).build());
      byte[] model = new byte[64 * BS];
      try (BlockVolume v = t.openVolume("v")) {
        write(v, model, 0, 64 * BS, 1);
        v.flush();
        for (int i = 0; i < 64; i++) { // one sector of each block: far past the dirty limit
          write(v, model, (long) i * BS + (i % 4) * SECTOR, SECTOR, 10 + i);
        }
        check(v, model, "with blocks written out early");
        v.flush();
        check(v, model, "after the flush");
      }
    }
  }

  private static void write(BlockVolume v, byte[] model, long off, int len, int seed) {
    byte[] data = new byte[len];
    new java.util.Random(seed).nextBytes(data);
    v.writeAsync(off, ByteBuffer.wrap(data)).join();
    System.arraycopy(data, 0, model, (int) off, len);
  }

  private static void check(BlockVolume v, byte[] model, String when) {
    ByteBuffer all = ByteBuffer.allocate(model.length);
    v.readAsync(0, all).join();
    assertThat(all.array()).as(when).isEqualTo(model);
    for (int off = 0; off < model.length; off += 5000) { // reads not aligned to anything
      ByteBuffer part = ByteBuffer.allocate(Math.min(7000, model.length - off));
      v.read(off, part);
      assertThat(part.array()).as("%s, at %d", when, off)
          .isEqualTo(java.util.Arrays.copyOfRange(model, off, off + part.capacity()));
    }
  }
}
