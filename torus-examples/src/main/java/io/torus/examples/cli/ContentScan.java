package io.torus.examples.cli;

import io.torus.TorusException;
import io.torus.BlockVolume;
import io.torus.Extent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Walks a volume (or snapshot) in {@link #CHUNK}-byte chunks, in offset order, telling for
 * each chunk whether it is a hole (from {@link BlockVolume#extents}) and, if not, its bytes.
 * Holes are never read; data chunks are read {@link #BATCH} at a time, concurrently.
 */
final class ContentScan {
  /** Chunk size of scans, digests and diffs: 64 KiB. */
  static final int CHUNK = 64 * 1024;
  static final int BATCH = 16;
  private static final long WINDOW = 256L << 20;

  /** Told every chunk, in order. */
  interface ChunkVisitor {
    /**
     * @param offset the chunk's first byte
     * @param length its length ({@link #CHUNK}, less for the last one)
     * @param data its bytes (position 0, limit length), or null if the chunk is a hole
     */
    void chunk(long offset, int length, ByteBuffer data) throws Exception;
  }

  private ContentScan() {}

  /** Told every chunk of several volumes at once, in order. */
  interface MultiVisitor {
    /** As {@link ChunkVisitor#chunk}, with one buffer (or null for a hole) per volume. */
    void chunk(long offset, int length, ByteBuffer[] data) throws Exception;
  }

  /** Visits every chunk of {@code [0, end)} of {@code v}; past {@code v.size()} holes. */
  static void scan(BlockVolume v, long end, ChunkVisitor visitor) throws Exception {
    scan(List.of(v), end, (off, len, data) -> visitor.chunk(off, len, data[0]));
  }

  /**
   * Visits every chunk of {@code [0, end)} of every volume in {@code vs} in step (chunk
   * {@code i} of each, then chunk {@code i + 1}); past a volume's size its chunks are holes.
   * A range that is a hole in every volume is not read at all.
   */
  static void scan(List<BlockVolume> vs, long end, MultiVisitor visitor) throws Exception {
    int n = vs.size();
    for (long w = 0; w < end; w += WINDOW) {
      long wlen = Math.min(WINDOW, end - w);
      Holes[] holes = new Holes[n];
      for (int k = 0; k < n; k++) {
        BlockVolume v = vs.get(k);
        holes[k] = new Holes(w >= v.size() ? List.of()
            : v.extents(w, Math.min(wlen, v.size() - w)), v.size());
      }
      long off = w;
      while (off < w + wlen) {
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        List<ByteBuffer[]> bufs = new ArrayList<>();
        long first = off;
        for (int i = 0; i < BATCH && off < w + wlen; i++, off += CHUNK) {
          int len = (int) Math.min(CHUNK, w + wlen - off);
          ByteBuffer[] bs = new ByteBuffer[n];
          for (int k = 0; k < n; k++) {
            BlockVolume v = vs.get(k);
            if (!holes[k].isHole(off, len)) {
              bs[k] = ByteBuffer.allocate(len);
              int inside = (int) Math.min(len, v.size() - off); // the rest reads as zeros
              reads.add(v.readAsync(off, bs[k].duplicate().limit(inside)));
            }
          }
          bufs.add(bs);
        }
        try {
          CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).join();
        } catch (RuntimeException e) {
          throw TorusException.of(e);
        }
        for (int i = 0; i < bufs.size(); i++) {
          long at = first + (long) i * CHUNK;
          visitor.chunk(at, (int) Math.min(CHUNK, w + wlen - at), bufs.get(i));
        }
      }
    }
  }

  /** Whether every byte of the buffer (position to limit) is zero. */
  static boolean isZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /** The hole extents of one window, queried in increasing offset order. */
  private static final class Holes {
    private final List<Extent> extents;
    private int i;

    private final long size;

    Holes(List<Extent> extents, long size) {
      this.extents = extents;
      this.size = size;
    }

    /** Whether {@code [off, off + len)} lies inside hole extents (or past the end) only. */
    boolean isHole(long off, long len) {
      if (off >= size) {
        return true;
      }
      while (i < extents.size() && end(extents.get(i)) <= off) {
        i++;
      }
      long pos = off;
      for (int j = i; j < extents.size() && pos < off + len; j++) {
        Extent e = extents.get(j);
        if (!e.hole() || e.offset() > pos) {
          return false;
        }
        pos = end(e);
      }
      return pos >= Math.min(off + len, size);
    }

    private static long end(Extent e) {
      return e.offset() + e.length();
    }
  }
}
