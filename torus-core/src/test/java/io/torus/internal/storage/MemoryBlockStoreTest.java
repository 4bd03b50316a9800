package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreContract;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

  @Test
  void getReturnsANewReadOnlyViewThatNoWriteGetsThrough() {
    BlockStore s = open(1 << 20);
    put(s, ref(1, 1), bytes(1000, 3));
    ByteBuffer b = s.get(ref(1, 1));
    assertThat(b.isReadOnly()).isTrue();
    assertThat(b.hasArray()).as("no array to write through").isFalse();
    assertThat(b.position()).isZero();
    assertThat(b.limit()).isEqualTo(1000);
    assertThatThrownBy(() -> b.put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
    assertThatThrownBy(() -> b.duplicate().put((byte) 1))
        .isInstanceOf(ReadOnlyBufferException.class);
    b.position(500); // moving one view moves no other
    ByteBuffer again = s.get(ref(1, 1));
    assertThat(again).isNotSameAs(b);
    assertThat(again.position()).isZero();
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(1000, 3));
    s.delete(ref(1, 1));
    byte[] kept = new byte[1000];
    again.get(kept);
    assertThat(kept).as("a view outlives the delete").isEqualTo(bytes(1000, 3));
  }

  @Test
  void damageReplacesTheStoredCopyAndLeavesHandedOutViewsIntact() {
    BlockStore s = open(1 << 20);
    put(s, ref(1, 1), bytes(4096, 4));
    put(s, ref(1, 2), new byte[0]);
    ByteBuffer before = s.get(ref(1, 1));
    corrupt(s, ref(1, 1));
    corrupt(s, ref(1, 2));
    byte[] got = new byte[4096];
    before.get(got);
    assertThat(got).isEqualTo(bytes(4096, 4));
    assertThatThrownBy(() -> s.get(ref(1, 1))).isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref(1, 1).toString());
    assertThatThrownBy(() -> s.get(ref(1, 2))).isInstanceOf(CorruptBlockException.class);
    assertThat(s.used()).isEqualTo(4096 + 2L * MemoryBlockStore.ENTRY_OVERHEAD);
    put(s, ref(1, 1), bytes(4096, 4)); // replaces the damaged copy
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(4096, 4));
    assertThat(s.used()).isEqualTo(4096 + 2L * MemoryBlockStore.ENTRY_OVERHEAD);
  }

  /**
   * Threads put and delete the same few refs at random; afterwards the ordered index (list,
   * forEach) holds exactly the stored refs and the usage counts exactly them.
   */
  @Test
  void orderIndexAndUsageMatchTheStoredBlocksAfterRacingPutsAndDeletes() throws Exception {
    BlockStore s = open(64L << 20);
    long seed = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> threads = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        Random rnd = new Random(seed + t);
        threads.add(pool.submit(() -> {
          for (int i = 0; i < 5000; i++) {
            int seq = rnd.nextInt(40);
            if (rnd.nextBoolean()) {
              put(s, ref(3, seq), bytes(10 + seq, seq));
            } else {
              s.delete(ref(3, seq));
            }
          }
          return null;
        }));
      }
      for (Future<?> f : threads) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    Set<BlockRef> stored = new HashSet<>();
    long used = 0;
    for (int seq = 0; seq < 40; seq++) {
      if (s.contains(ref(3, seq))) {
        stored.add(ref(3, seq));
        used += 10 + seq + MemoryBlockStore.ENTRY_OVERHEAD;
        assertThat(read(s, ref(3, seq))).isEqualTo(bytes(10 + seq, seq));
      }
    }
    List<BlockRef> listed = s.list(3, null, 1000);
    assertThat(listed).as("seed %d", seed).isSorted().containsExactlyInAnyOrderElementsOf(stored);
    List<BlockRef> each = new ArrayList<>();
    s.forEach(3, each::add);
    assertThat(each).as("seed %d", seed).containsExactlyElementsOf(listed);
    assertThat(s.used()).as("seed %d", seed).isEqualTo(used);
  }

  /** The store behind the checks, or {@code s} itself. */
  private static MemoryBlockStore raw(BlockStore s) {
    return (MemoryBlockStore) (s instanceof CheckedBlockStore c ? c.delegate() : s);
  }
}
