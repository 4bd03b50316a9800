package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checks of {@link CheckedBlockStore}, in front of a store that does none of them. */
class CheckedBlockStoreTest {

  /** A store that checks nothing itself, records the puts it sees, lists what it is told. */
  private static final class Trusting extends ForwardingBlockStore {
    final MemoryBlockStore mem = inner;
    final List<ByteBuffer> puts = new ArrayList<>();
    List<BlockRef> page;

    Trusting() {
      super("trusting", 64L << 20);
    }

    @Override
    public void put(BlockRef ref, ByteBuffer data, int crc32c) {
      puts.add(data);
      mem.put(ref, data, crc32c);
    }

    @Override
    public List<BlockRef> list(long volumeId, BlockRef after, int max) {
      return page != null ? page : mem.list(volumeId, after, max);
    }
  }


  private final Trusting inner = new Trusting();
  private final BlockStore store = CheckedBlockStore.wrap(inner);

  private static BlockRef ref(long vol, int seq) {
    return new BlockRef(vol, 1, seq, BlockKind.DATA);
  }

  @Test
  void aBadChecksumNeverReachesTheStore() {
    byte[] b = {1, 2, 3};
    assertThatThrownBy(() -> store.put(ref(1, 1), ByteBuffer.wrap(b), Crc32c.of(b) ^ 1))
        .isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref(1, 1).toString())
        .hasMessageContaining("CRC32C mismatch");
    assertThat(inner.puts).isEmpty();
  }

  @Test
  void anOversizedBlockIsOverflowAndNeverReachesTheStore() {
    byte[] b = new byte[store.capabilities().maxBlockSize() + 1];
    assertThatThrownBy(() -> store.put(ref(1, 1), ByteBuffer.wrap(b), Crc32c.of(b)))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EOVERFLOW))
        .hasMessageContaining("max " + store.capabilities().maxBlockSize());
    assertThat(inner.puts).isEmpty();
  }

  @Test
  void theStoreGetsADuplicateSoTheCallersBufferNeverMoves() {
    ByteBuffer data = ByteBuffer.wrap(new byte[] {5, 6, 7, 8}).position(1);
    store.put(ref(1, 1), data, Crc32c.of(data));
    assertThat(inner.puts).hasSize(1);
    assertThat(inner.puts.get(0)).isNotSameAs(data);
    assertThat(data.position()).isEqualTo(1);
    assertThat(store.get(ref(1, 1)).remaining()).isEqualTo(3);
  }

  @Test
  void nullArgumentsAreNamed() {
    assertThatThrownBy(() -> store.put(null, ByteBuffer.allocate(0), 0))
        .isInstanceOf(NullPointerException.class).hasMessage("ref");
    assertThatThrownBy(() -> store.put(ref(1, 1), null, 0))
        .isInstanceOf(NullPointerException.class).hasMessage("data");
    assertThatThrownBy(() -> store.get(null)).hasMessage("ref");
    assertThatThrownBy(() -> store.contains(null)).hasMessage("ref");
    assertThatThrownBy(() -> store.delete(null)).hasMessage("ref");
    assertThatThrownBy(() -> store.forEach(1, null)).hasMessage("action");
  }

  @Test
  void aPageOutOfContractIsAnIoError() {
    assertThatThrownBy(() -> store.list(1, null, 0)).hasMessageContaining("max <= 0: 0");
    inner.page = List.of(ref(1, 2), ref(1, 1));
    assertThatThrownBy(() -> store.list(1, null, 5))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("does not follow");
    inner.page = List.of(ref(2, 1));
    assertThatThrownBy(() -> store.list(1, null, 5)).hasMessageContaining("not of the volume");
    inner.page = List.of(ref(1, 1), ref(1, 2));
    assertThatThrownBy(() -> store.list(1, null, 1)).hasMessageContaining("for max 1");
    assertThatThrownBy(() -> store.list(1, ref(1, 1), 5)).hasMessageContaining("follow");
    assertThat(store.list(1, ref(0, 9), 5)).containsExactly(ref(1, 1), ref(1, 2));
  }

  @Test
  void wrapsOnceAndStoresOpenedByTypeAreChecked() {
    assertThat(CheckedBlockStore.wrap(store)).isSameAs(store);
    try (BlockStore s = BlockStores.open("memory", new StoreConfig(null, 1 << 20, Map.of()))) {
      assertThat(s).isInstanceOf(CheckedBlockStore.class);
      assertThat(CheckedBlockStore.wrapAll(List.of(s)).get(0)).isSameAs(s);
    }
  }
}
