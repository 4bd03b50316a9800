package io.torus.internal.volume;

import io.torus.spi.BlockRef;

/** What an open volume knows of one block that changed since its last commit. */
abstract class Entry {
  private Entry() {}

  /** A hole: the block was trimmed or zeroed. */
  static final Entry HOLE = new Entry() {
    @Override
    public String toString() {
      return "hole";
    }
  };

  /**
   * Data still in memory. {@code data} is mutated in place only under the block's stripe lock,
   * only while the entry is in the volume's current dirty map, and never while it is
   * {@code sealed}: being written out to the block layer, outside any lock. A writer that
   * meets a sealed block copies it into a new entry instead of waiting for the write-out.
   */
  static final class Mem extends Entry {
    final byte[] data;
    /** Being written out; guarded by the block's stripe lock. */
    boolean sealed;

    Mem(byte[] data) {
      this.data = data;
    }
  }

  /** Data already written (early) to the block layer as a block of a pending generation. */
  static final class Stored extends Entry {
    final BlockRef ref;

    Stored(BlockRef ref) {
      this.ref = ref;
    }
  }
}
