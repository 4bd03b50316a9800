package io.torus.internal.layer;

import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.BlockStore;
import java.util.List;

/** The block layer contract over two memory stores of one node. */
class LocalBlockLayerContractTest extends BlockLayerContract {
  @Override
  protected BlockLayer layer(long volume) {
    List<BlockStore> stores = List.of(new MemoryBlockStore("a", 64L << 20),
        new MemoryBlockStore("b", 64L << 20));
    return new LocalBlockLayer(stores, 2);
  }
}
