package io.torus.internal.gc;

import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import java.util.List;

/**
 * Something that holds blocks and can list and delete them: one of this node's stores, or a
 * peer of the cluster reached over the network. What a collection cycle sweeps.
 */
public interface BlockHolder {

  /** A name for logs. */
  String name();

  /**
   * Up to {@code max} refs of the volume the holder has, strictly after {@code after} (null:
   * from the start), in ref order: a sweep holds one page at a time, however many blocks
   * there are.
   */
  List<BlockRef> page(long volumeId, BlockRef after, int max);

  /** Deletes a block; returns whether it was there. */
  boolean delete(BlockRef ref);

  /**
   * Deletes blocks; returns how many were there. The default deletes one at a time; a holder
   * across the network sends them pipelined.
   */
  default int deleteAll(List<BlockRef> refs) {
    int n = 0;
    for (BlockRef ref : refs) {
      if (delete(ref)) {
        n++;
      }
    }
    return n;
  }

  /** Makes the deletes durable (and their space reusable). */
  void flush();

  /** A holder over one of this node's stores. */
  static BlockHolder of(BlockStore store) {
    return new BlockHolder() {
      @Override
      public String name() {
        return store.name();
      }

      @Override
      public List<BlockRef> page(long volumeId, BlockRef after, int max) {
        return store.list(volumeId, after, max);
      }

      @Override
      public boolean delete(BlockRef ref) {
        return store.delete(ref);
      }

      @Override
      public void flush() {
        store.flush();
      }
    };
  }
}
