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
    /** Sub-block unit a partial write is tracked in. */
    static final int SECTOR = 4096;

    final byte[] data;
    /** Being written out; guarded by the block's stripe lock. */
    boolean sealed;
    /**
     * Which {@link #SECTOR}s of {@code data} were written, one bit each, or null if all of
     * {@code data} is the block's content. A partial block's other sectors are those of the
     * layer below it (frozen, then the committed map), merged in when it is written out,
     * committed, or written at an unaligned offset. Guarded by the stripe lock like
     * {@code data}.
     */
    long[] written;

    Mem(byte[] data) {
      this.data = data;
    }

    /** A block with no sector written yet: the caller writes and {@link #mark}s some. */
    static Mem partial(int blockSize) {
      Mem m = new Mem(new byte[blockSize]);
      m.written = new long[(blockSize / SECTOR + 63) / 64];
      return m;
    }

    /** Whether {@code [from, from + len)} starts and ends on sector boundaries. */
    static boolean aligned(int from, int len) {
      return ((from | len) & (SECTOR - 1)) == 0;
    }

    /** Whether every sector of {@code [from, from + len)} was written (true if not partial). */
    boolean covers(int from, int len) {
      if (written == null) {
        return true;
      }
      for (int i = from / SECTOR, end = (from + len - 1) / SECTOR; i <= end; i++) {
        if ((written[i >>> 6] & (1L << i)) == 0) {
          return false;
        }
      }
      return true;
    }

    /** Records that the aligned range {@code [from, from + len)} was written. */
    void mark(int from, int len) {
      if (written == null) {
        return;
      }
      for (int i = from / SECTOR, end = (from + len) / SECTOR; i < end; i++) {
        written[i >>> 6] |= 1L << i;
      }
      if (covers(0, data.length)) {
        written = null;
      }
    }

    /**
     * The block's whole content: {@code data} if not partial, else a new array of
     * {@code base} (the content below) with the written sectors laid over it.
     */
    byte[] over(java.nio.ByteBuffer base) {
      if (written == null) {
        return data;
      }
      byte[] out = new byte[data.length];
      base.get(0, out);
      for (int i = 0; i < data.length / SECTOR; i++) {
        if ((written[i >>> 6] & (1L << i)) != 0) {
          System.arraycopy(data, i * SECTOR, out, i * SECTOR, SECTOR);
        }
      }
      return out;
    }

    /** Makes a partial block whole in place: the unwritten sectors take {@code base}'s bytes. */
    void complete(java.nio.ByteBuffer base) {
      if (written == null) {
        return;
      }
      for (int i = 0; i < data.length / SECTOR; i++) {
        if ((written[i >>> 6] & (1L << i)) == 0) {
          base.get(i * SECTOR, data, i * SECTOR, SECTOR);
        }
      }
      written = null;
    }

    /** A copy to change instead of this sealed block: same bytes, same written sectors. */
    Mem copy() {
      Mem m = new Mem(data.clone());
      m.written = written == null ? null : written.clone();
      return m;
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
