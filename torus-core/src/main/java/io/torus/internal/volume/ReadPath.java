package io.torus.internal.volume;

import io.torus.internal.map.BlockMap;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The read path of an open volume: copies bytes out of one {@link VolumeState} snapshot,
 * looking each block up in dirty, then frozen, then journaled, then the committed block map,
 * with zeroes for holes; and the current content of a block below the dirty map, for a
 * partial write.
 *
 * <p><b>Concurrency.</b> Takes no volume-wide lock: the caller passes one snapshot of the state,
 * so a read sees one consistent picture, before, during or after a flush. A dirty block is
 * resolved and copied under its stripe lock ({@link Stripes}); frozen and journaled entries and
 * the committed tree are immutable. No state of its own; safe from any thread.
 */
final class ReadPath {
  private static final byte[] ZEROES = new byte[64 * 1024];
  /** Gets a multi-block read has outstanding at most. */
  static final int PREFETCH_WINDOW = 256;

  private final BlockIo io;
  private final Stripes stripes;
  private final int blockSize;
  private final int shift;
  /** A block of zeroes, made on first use (racy but idempotent). */
  private volatile ByteBuffer zero;

  ReadPath(BlockIo io, Stripes stripes, int blockSize) {
    this.io = io;
    this.stripes = stripes;
    this.blockSize = blockSize;
    this.shift = Integer.numberOfTrailingZeros(blockSize);
  }

  /** Fills {@code dst} with the bytes from {@code offset} on, as {@code s} has them. */
  void read(VolumeState s, long offset, ByteBuffer dst) {
    Map<BlockRef, ByteBuffer> fetched = prefetch(s, offset, dst.remaining());
    copy(s, new BlockMap.Cursor(io::node, s.root), offset, dst, false, fetched);
  }

  /**
   * Like {@link #read}, but only if that needs no waiting: every block it touches is in
   * memory (dirty or frozen, cached, or in a {@linkplain BlockIo#blockNow memory-resident}
   * layer) and no stripe lock it needs is held. Returns false otherwise, with {@code dst}'s
   * position as it was (its bytes may have changed); never blocks.
   */
  boolean readNow(VolumeState s, long offset, ByteBuffer dst) {
    int start = dst.position();
    try {
      copy(s, new BlockMap.Cursor(io::nodeNow, s.root), offset, dst, true, Map.of());
      return true;
    } catch (WouldBlock e) {
      dst.position(start);
      return false;
    }
  }

  private void copy(VolumeState s, BlockMap.Cursor committed, long offset, ByteBuffer dst,
      boolean now, Map<BlockRef, ByteBuffer> fetched) {
    long off = offset;
    while (dst.hasRemaining()) {
      long index = off >>> shift;
      int inBlock = (int) (off & (blockSize - 1));
      int n = Math.min(blockSize - inBlock, dst.remaining());
      readBlock(s, committed, index, inBlock, n, dst, now, fetched);
      off += n;
    }
  }

  /**
   * For a read over several blocks of a layer whose gets are round trips, fetches the
   * committed blocks it needs that are not cached, all at once ({@link BlockIo#fetchAll}, in
   * windows of {@link #PREFETCH_WINDOW}), so that no block waits for the one before it. Only a
   * hint: on a failure the copy loop fetches the block again and reports the error.
   */
  private Map<BlockRef, ByteBuffer> prefetch(VolumeState s, long offset, int length) {
    if (!io.prefetchPays(length)) {
      return Map.of();
    }
    List<Long> committed = new ArrayList<>();
    for (long i = offset >>> shift, last = (offset + length - 1) >>> shift; i <= last; i++) {
      if (!s.dirty.containsKey(i) && !s.hasBelow(i)) {
        committed.add(i);
      }
    }
    List<BlockRef> wanted = uncached(s.root, committed);
    if (wanted.size() < 2) {
      return Map.of();
    }
    Map<BlockRef, ByteBuffer> fetched = new HashMap<>(wanted.size() * 2);
    for (int i = 0; i < wanted.size(); i += PREFETCH_WINDOW) {
      try {
        fetched.putAll(io.fetchAll(wanted.subList(i, Math.min(wanted.size(),
            i + PREFETCH_WINDOW))));
      } catch (RuntimeException e) {
        return fetched; // the copy loop fetches the rest again and reports the error
      }
    }
    return fetched;
  }

  /** Copies {@code n} bytes of block {@code index} from {@code inBlock} into {@code dst}. */
  private void readBlock(VolumeState s, BlockMap.Cursor committed, long index, int inBlock,
      int n, ByteBuffer dst, boolean now, Map<BlockRef, ByteBuffer> fetched) {
    Entry e = s.dirty.get(index);
    if (e != null && e != Entry.HOLE) {
      // Under the stripe lock: in-memory bytes change under it, and a superseded pending
      // block is deleted under it, so a read holding it never sees either half-done.
      ReentrantLock l = stripes.of(index);
      WouldBlock.lock(l, now);
      try {
        e = s.dirty.get(index);
        if (e instanceof Entry.Mem) {
          copyMem((Entry.Mem) e, inBlock, n, dst, () -> belowDirty(s, index, now, fetched));
          return;
        }
        if (e instanceof Entry.Stored) {
          copyFrom(block(((Entry.Stored) e).ref, now), inBlock, n, dst);
          return;
        }
      } finally {
        l.unlock();
      }
    }
    if (e == null) {
      e = s.below(index);
    }
    if (e instanceof Entry.Mem) { // frozen: immutable
      copyMem((Entry.Mem) e, inBlock, n, dst, () -> inRoot(s.root, index, now, fetched));
      return;
    }
    BlockRef ref = e == null ? committed.lookup(index)
        : e == Entry.HOLE ? null : ((Entry.Stored) e).ref;
    if (ref == null) {
      int end = dst.position() + n;
      while (dst.position() < end) {
        int k = Math.min(end - dst.position(), ZEROES.length);
        dst.put(ZEROES, 0, k);
      }
      return;
    }
    ByteBuffer got = fetched.get(ref);
    copyFrom(got != null ? got : block(ref, now), inBlock, n, dst);
  }

  /** Copies from an in-memory block; a partial one's unwritten part comes from {@code below}. */
  private static void copyMem(Entry.Mem m, int inBlock, int n, ByteBuffer dst,
      java.util.function.Supplier<ByteBuffer> below) {
    dst.put(m.covers(inBlock, n) ? m.data : m.over(below.get()), inBlock, n);
  }

  private ByteBuffer block(BlockRef ref, boolean now) {
    return now ? io.blockNow(ref) : io.block(ref);
  }

  /**
   * The whole content of block {@code index} as the layers below the dirty map have it: its
   * frozen or journaled entry, else the committed map (zeroes for a hole). The buffer may be
   * shared: do not modify it. With {@code now}, throws {@link WouldBlock} rather than wait for
   * I/O.
   */
  ByteBuffer belowDirty(VolumeState s, long index, boolean now,
      Map<BlockRef, ByteBuffer> fetched) {
    Entry f = s.below(index);
    if (f == null) {
      return inRoot(s.root, index, now, fetched);
    }
    if (f == Entry.HOLE) {
      return zeroBlock();
    }
    if (f instanceof Entry.Stored) {
      BlockRef ref = ((Entry.Stored) f).ref;
      ByteBuffer got = fetched.get(ref);
      return got != null ? got : block(ref, now);
    }
    Entry.Mem m = (Entry.Mem) f;
    return ByteBuffer.wrap(m.written == null ? m.data
        : m.over(inRoot(s.root, index, now, fetched))).asReadOnlyBuffer();
  }

  /**
   * Starts fetching block {@code index}'s committed content in {@code root} into the cache
   * ({@link BlockIo#warm}) if its map nodes are in memory; never waits.
   */
  void warm(BlockRef root, long index) {
    try {
      BlockRef ref = BlockMap.lookup(io::nodeNow, root, index);
      if (ref != null) {
        io.warm(ref);
      }
    } catch (WouldBlock e) {
      // a map node is not in memory: the merge fetches the block when it needs it
    }
  }

  /** The whole content of block {@code index} in the committed map {@code root}. */
  ByteBuffer inRoot(BlockRef root, long index, boolean now, Map<BlockRef, ByteBuffer> fetched) {
    BlockRef ref = BlockMap.lookup(now ? io::nodeNow : io::node, root, index);
    if (ref == null) {
      return zeroBlock();
    }
    ByteBuffer got = fetched.get(ref);
    return got != null ? got : block(ref, now);
  }

  /**
   * The committed blocks under the given partial blocks that are not cached, fetched together
   * ({@link BlockIo#fetchAll}): what a write-out or commit merges them over. Throws the first
   * failure.
   */
  Map<BlockRef, ByteBuffer> fetchRootsOf(BlockRef root, List<Long> indexes) {
    List<BlockRef> wanted = uncached(root, indexes);
    return wanted.isEmpty() ? Map.of() : io.fetchAll(wanted);
  }

  /** The refs, in {@code root}, of the given blocks that are neither holes nor cached. */
  private List<BlockRef> uncached(BlockRef root, List<Long> indexes) {
    List<BlockRef> wanted = new ArrayList<>();
    BlockMap.Cursor cursor = new BlockMap.Cursor(io::node, root);
    for (long index : indexes) {
      BlockRef ref = cursor.lookup(index);
      if (ref != null && io.cached(ref) == null) {
        wanted.add(ref); // refs are unique per block index: no duplicates
      }
    }
    return wanted;
  }

  private ByteBuffer zeroBlock() {
    ByteBuffer z = zero;
    if (z == null) {
      z = ByteBuffer.allocate(blockSize).asReadOnlyBuffer();
      zero = z;
    }
    return z.duplicate();
  }

  private static void copyFrom(ByteBuffer block, int inBlock, int n, ByteBuffer dst) {
    dst.put(dst.position(), block, inBlock, n);
    dst.position(dst.position() + n);
  }

  /**
   * The current content of block {@code index} below the dirty map, as a new array;
   * {@code e} is the block's dirty entry (null, a hole or stored), read by the caller under the
   * block's stripe lock. With {@code now}, throws {@link WouldBlock} instead of waiting for a
   * block or map node that is not in memory.
   */
  byte[] baseContent(VolumeState s, long index, Entry e, boolean now) {
    if (e == null) {
      e = s.below(index);
    }
    if (e instanceof Entry.Mem) {
      Entry.Mem m = (Entry.Mem) e;
      return m.written == null ? m.data.clone()
          : m.over(inRoot(s.root, index, now, Map.of()));
    }
    BlockRef ref = e == null ? BlockMap.lookup(now ? io::nodeNow : io::node, s.root, index)
        : e == Entry.HOLE ? null : ((Entry.Stored) e).ref;
    if (ref == null) {
      return new byte[blockSize];
    }
    ByteBuffer cached = io.cached(ref);
    if (cached != null) {
      byte[] data = new byte[blockSize];
      cached.get(0, data);
      return data;
    }
    if (now && !io.memoryResident()) {
      throw WouldBlock.INSTANCE;
    }
    // Not cached: the layer hands over a buffer of our own; use its array when it is exactly
    // the block (no copy), and leave the cache alone (these bytes are about to change).
    ByteBuffer fresh = io.fetch(ref);
    if (fresh.hasArray() && fresh.arrayOffset() == 0 && fresh.position() == 0
        && fresh.array().length == blockSize && !fresh.isReadOnly()) {
      return fresh.array();
    }
    byte[] data = new byte[blockSize];
    fresh.get(fresh.position(), data);
    return data;
  }
}
