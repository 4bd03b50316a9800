package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreContract;
import org.junit.jupiter.api.Test;

class MemoryBlockStoreTest extends BlockStoreContract {

  @Override
  protected BlockStore newStore(long capacity) {
    return new MemoryBlockStore("mem-test", capacity);
  }

  @Override
  protected void corrupt(BlockStore s, BlockRef ref) {
    ((MemoryBlockStore) s).damage(ref);
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
}
