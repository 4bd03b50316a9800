package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreContract;
import org.junit.jupiter.api.Test;

/** The contract on a memory store, behind the checks ({@link CheckedBlockStore}). */
class MemoryBlockStoreTest extends BlockStoreContract {

  @Override
  protected BlockStore newStore(long capacity) {
    return CheckedBlockStore.wrap(new MemoryBlockStore("mem-test", capacity));
  }

  @Override
  protected void corrupt(BlockStore s, BlockRef ref) {
    raw(s).damage(ref);
  }

  @Test
  void isNotPersistentAndCountsOverhead() {
    BlockStore s = open(1 << 20);
    assertThat(s.capabilities().persistent()).isFalse();
    put(s, ref(1, 1), bytes(100, 1));
    assertThat(s.used()).isEqualTo(100 + MemoryBlockStore.ENTRY_OVERHEAD);
    s.delete(ref(1, 1));
    assertThat(s.used()).isZero();
  }

  /** The store behind the checks, or {@code s} itself. */
  private static MemoryBlockStore raw(BlockStore s) {
    return (MemoryBlockStore) (s instanceof CheckedBlockStore c ? c.delegate() : s);
  }
}
