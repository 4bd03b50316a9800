package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockVolume;
import io.torus.LeaseLostException;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.internal.storage.MemoryBlockStore;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Flushes whose head commit fails (not applied, or applied late): no writer may ever produce
 * a ref another stored, and no block a possibly-applied commit references is deleted.
 */
class CommitFailureTest {
  private static final int BS = 4096;
  private final FaultyMetadataService meta =
      new FaultyMetadataService(LocalMetadataService.inMemory());
  private final MemoryBlockStore store = new MemoryBlockStore("mem", 256L << 20);
  private Torus torus;

  private Torus node(long dirtyBytes) {
    torus = Torus.builder().metadata(meta).addStore(store).cacheBytes(0)
        .dirtyBytes(dirtyBytes).build();
    return torus;
  }

  @AfterEach
  void close() {
    if (torus != null) {
      torus.close();
    }
  }

  private static ByteBuffer block(int fill) {
    byte[] b = new byte[BS];
    Arrays.fill(b, (byte) fill);
    return ByteBuffer.wrap(b);
  }

  private static byte[] read(BlockVolume v, long offset) {
    ByteBuffer dst = ByteBuffer.allocate(BS);
    v.read(offset, dst);
    return dst.array();
  }

  @Test
  void aNewWriterNeverReusesRefsOfAnEarlierWritersFailedFlushes() {
    Torus t = node(1 << 20);
    t.createVolume(VolumeSpec.builder("v", 1 << 20).blockSize(BS).replication(1).build());
    try (BlockVolume a = t.openVolume("v")) {
      a.write(0, block('A'));
      a.flush();
      meta.failCommits(3); // two failed flushes, then the close's own
      a.write(0, block('B'));
      assertThatThrownBy(a::flush).isInstanceOf(TorusException.class);
      assertThatThrownBy(a::flush).isInstanceOf(TorusException.class);
      assertThatThrownBy(a::close).isInstanceOf(TorusException.class);
    }
    try (BlockVolume b = t.openVolume("v")) {
      assertThat(read(b, 0)).containsOnly((byte) 'A');
      b.write(0, block('C'));
      b.flush();
    }
    try (BlockVolume r = t.openVolumeReadOnly("v")) {
      assertThat(read(r, 0)).containsOnly((byte) 'C');
    }
  }

  @Test
  void blocksOfACommitWithAnUnknownOutcomeAreNeverDeleted() {
    int blocks = 64;
    Torus t = node(8 * BS); // small buffer: most blocks are written out before the flush
    t.createVolume(VolumeSpec.builder("v", 1 << 20).blockSize(BS).replication(1).build());
    BlockVolume a = t.openVolume("v");
    for (int i = 0; i < blocks; i++) {
      a.write((long) i * BS, block(i));
    }
    meta.delayCommit();
    assertThatThrownBy(a::flush).isInstanceOf(TorusException.class);
    for (int i = 0; i < blocks; i++) { // supersedes every block written out early
      a.write((long) i * BS, block(200));
    }
    meta.applyDelayed(); // etcd applied the timed-out commit after all
    try (BlockVolume r = t.openVolumeReadOnly("v")) { // that head is whole: nothing deleted
      for (int i = 0; i < blocks; i++) {
        assertThat(read(r, (long) i * BS)).as("block %d", i).containsOnly((byte) i);
      }
    }
    a.flush(); // finds the head moved to its own doubtful commit, goes on from it
    a.close();
    try (BlockVolume r = t.openVolumeReadOnly("v")) {
      for (int i = 0; i < blocks; i++) {
        assertThat(read(r, (long) i * BS)).as("block %d", i).containsOnly((byte) 200);
      }
    }
  }

  @Test
  void aFlushWithNothingToCommitFailsOnceTheLockMayBeLost() {
    Torus t = node(1 << 20);
    t.createVolume(VolumeSpec.builder("v", 1 << 20).blockSize(BS).replication(1).build());
    BlockVolume a = t.openVolume("v");
    a.write(0, block('A'));
    a.flush();
    meta.loseLocks(); // e.g. the process was paused past its lease's TTL
    assertThatThrownBy(a::flush).isInstanceOf(LeaseLostException.class);
    assertThatThrownBy(() -> a.write(0, block('B'))).isInstanceOf(LeaseLostException.class);
    a.close();
  }
}
