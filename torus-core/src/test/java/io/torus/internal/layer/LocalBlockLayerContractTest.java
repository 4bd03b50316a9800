package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.Crc32c;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.testing.Blocks;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The block layer contract over two memory stores of one node. */
class LocalBlockLayerContractTest extends BlockLayerContract {
  @Override
  protected BlockLayer layer(long volume) {
    return new LocalBlockLayer(stores(), 2);
  }

  private static List<BlockStore> stores() {
    return List.of(new MemoryBlockStore("a", 64L << 20), new MemoryBlockStore("b", 64L << 20));
  }

  @Test
  void theTwoCopiesAreOnTheTwoStores() {
    List<BlockStore> stores = stores();
    BlockLayer l = new LocalBlockLayer(stores, 2);
    BlockRef ref = new BlockRef(3, 1, 9, BlockKind.DATA);
    ByteBuffer data = Blocks.block(9, 4096);
    l.put(ref, data.duplicate(), Crc32c.of(data));
    for (BlockStore s : stores) {
      assertThat(s.get(ref)).as("copy on %s", s.name()).isEqualTo(data);
    }
  }
}
