package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link BlockLayer} must do, whatever it stands on (a node's stores, a cluster's
 * peers): blocks read back byte for byte in buffers the caller owns, a ref never changes its
 * bytes, a bad checksum stores nothing, deletes are idempotent, and a flush succeeds over
 * healthy stores. A subclass per implementation gives a fresh layer (replication 2) of an
 * empty volume.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class BlockLayerContract {
  private long volume = 7;

  /**
   * A fresh layer of volume {@code volume}, with two copies per block, over storage where
   * that volume has no blocks yet.
   */
  protected abstract BlockLayer layer(long volume);

  private BlockLayer layer() {
    return layer(volume);
  }

  /** A new volume id for each test (a shared cluster may serve several tests). */
  @org.junit.jupiter.api.BeforeEach
  void nextVolume() {
    volume = NEXT.incrementAndGet();
  }

  private static final java.util.concurrent.atomic.AtomicLong NEXT =
      new java.util.concurrent.atomic.AtomicLong(1000);

  private BlockRef ref(int seq) {
    return new BlockRef(volume, 1, seq, BlockKind.DATA);
  }

  @Test
  void aPutBlockReadsBackInABufferTheCallerOwns() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(1, 4096);
    l.put(ref(1), data.duplicate(), Crc32c.of(data));
    ByteBuffer got = l.get(ref(1));
    assertThat(got).isEqualTo(data);
    got.put(0, (byte) (got.get(0) + 1)); // scribbling on it changes nothing stored
    assertThat(l.get(ref(1))).isEqualTo(data);
    l.flush();
    assertThat(l.get(ref(1))).isEqualTo(data);
  }

  @Test
  void aMissingBlockIsUnavailable() {
    assertThatThrownBy(() -> layer().get(ref(99)))
        .isInstanceOf(BlockUnavailableException.class).hasMessageContaining(ref(99).toString());
  }

  @Test
  void aPutWithAWrongChecksumIsRefusedAndStoresNothing() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(2, 4096);
    assertThatThrownBy(() -> l.put(ref(2), data.duplicate(), Crc32c.of(data) ^ 1))
        .isInstanceOf(TorusException.class);
    assertThatThrownBy(() -> l.get(ref(2))).isInstanceOf(BlockUnavailableException.class);
  }

  @Test
  void aRefKeepsItsBytesForever() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(3, 4096);
    l.put(ref(3), data.duplicate(), Crc32c.of(data));
    l.put(ref(3), data.duplicate(), Crc32c.of(data)); // the same bytes again: fine
    ByteBuffer other = Blocks.block(4, 4096);
    assertThatThrownBy(() -> l.put(ref(3), other.duplicate(), Crc32c.of(other)))
        .isInstanceOf(RefConflictException.class);
    assertThat(l.get(ref(3))).isEqualTo(data);
    l.flush();
    assertThat(l.get(ref(3))).isEqualTo(data);
  }

  @Test
  void deletesRemoveEveryCopyAndDeletingNothingIsNoError() {
    BlockLayer l = layer();
    ByteBuffer data = Blocks.block(5, 4096);
    l.put(ref(5), data.duplicate(), Crc32c.of(data));
    l.flush();
    l.delete(ref(5));
    l.delete(ref(5));
    l.delete(ref(6));
    l.flush();
    assertThatThrownBy(() -> l.get(ref(5))).isInstanceOf(BlockUnavailableException.class);
  }

  @Test
  void manyBlocksAcrossPlacementsAllReadBack() {
    BlockLayer l = layer();
    List<ByteBuffer> written = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      ByteBuffer data = Blocks.block(100 + i, 512 + i * 64);
      written.add(data);
      l.put(ref(100 + i), data.duplicate(), Crc32c.of(data));
    }
    l.flush();
    for (int i = 0; i < 64; i++) {
      assertThat(l.get(ref(100 + i))).as("block %d", i).isEqualTo(written.get(i));
    }
  }
}
