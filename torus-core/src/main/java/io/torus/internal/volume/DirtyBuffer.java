package io.torus.internal.volume;

import io.torus.internal.map.BlockMap;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import java.nio.ByteBuffer;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * The uncommitted changes of an open volume: the dirty map with its write-out queue, the
 * frozen map of a running flush, the root they lie above, the pending generation and the
 * early write-out that bounds their memory.
 *
 * <p><b>State.</b> A volatile {@link VolumeState} holds the three layers, newest first: dirty,
 * frozen and root. A read takes one snapshot ({@link #state}) and looks a block up in that
 * order, so it always sees a consistent picture, before, during or after a flush.
 *
 * <p><b>Invariants.</b> (1) Every change is in exactly one of dirty, frozen or the tree
 * reachable from root; a flush moves dirty to frozen ({@link #freeze}), then frozen into a new
 * root ({@link #committed}), or back under the newer dirty blocks if it fails
 * ({@link #restore}). (2) The bytes of an in-memory dirty block are mutated only under its
 * stripe lock, only while in the current dirty map and not sealed (a sealed block is being
 * written out with no lock held; writers copy it); frozen blocks are never mutated.
 * (3) Each flush attempt moves the pending generation up by one, so a generation is never
 * handed out twice ({@link Committer} keeps every one inside the range reserved for this
 * writer).
 *
 * <p><b>Concurrency.</b> Writers (write, trim, zero, early write-out) hold the read side of
 * the phase lock; a flush takes the write side only for the instants it swaps the state, so a
 * write either lands before the freeze (and is committed by that flush) or after it. Close
 * takes the write side to mark the handle closing and closed ({@link #exclusive}). The phase
 * lock guards the replacement of {@code state} and {@code pending} (both volatile, replaced
 * only under its write side). Writers change a block's dirty entry under its stripe lock
 * ({@link Stripes}); {@link #restore}, which only adds absent entries, holds the write side
 * instead. The early write-out ({@link WriteOut}) runs one at a time; {@code compacting}
 * one queue compaction; {@code dirtyBytes} is atomic.
 */
final class DirtyBuffer {
  /** Changed blocks an open volume keeps uncommitted at most (about 100 MiB of entries). */
  static final int MAX_DIRTY_ENTRIES = 1 << 20;
  /** Queued write-out entries a handle keeps at most, beyond two per in-memory block. */
  static final int QUEUE_SLACK = 1024;

  /** A flush's frozen blocks, the generation they are committed in and the root below them. */
  record Frozen(Map<Long, Entry> blocks, Generation generation, BlockRef root) {}

  private final Lifecycle lifecycle;
  private final Stripes stripes;
  private final ReadPath reader;
  private final BlockIo io;
  private final Executor ioPool;
  private final int blockSize;
  private final int shift;
  private final long dirtyLimit;

  private final ReentrantReadWriteLock phase = new ReentrantReadWriteLock();
  private final AtomicBoolean compacting = new AtomicBoolean();
  private final Superseded superseded;
  private final WriteOut writeOut;
  /** Bytes of the in-memory blocks in dirty and frozen: what {@code dirtyLimit} bounds. */
  private final AtomicLong dirtyBytes = new AtomicLong();

  private volatile VolumeState state;
  private volatile Generation pending;

  /**
   * @param head the head to start from: its root, and the generation after it as pending
   * @param ioPool runs the parallel block writes of an early write-out
   * @param dirtyLimit in-memory bytes past which writers write blocks out early
   * @param first the pending generation to start with: the one after the head's
   */
  DirtyBuffer(Generation first, Head head, int blockSize, long dirtyLimit, Lifecycle lifecycle,
      Stripes stripes, ReadPath reader, BlockIo io, CommitDoubt doubt, Executor ioPool) {
    this.lifecycle = lifecycle;
    this.stripes = stripes;
    this.reader = reader;
    this.io = io;
    this.ioPool = ioPool;
    this.blockSize = blockSize;
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.dirtyLimit = dirtyLimit;
    this.superseded = new Superseded(io, doubt, ioPool);
    this.state = VolumeState.fresh(Map.of(), new ConcurrentHashMap<>(), head.root());
    if (first.number != head.generation() + 1) {
      throw new IllegalArgumentException("generation " + first.number + " after head "
          + head.generation());
    }
    this.pending = first;
    this.writeOut = new WriteOut(this, phase, lifecycle, stripes, reader, io, superseded,
        ioPool, dirtyBytes, dirtyLimit, blockSize);
  }

  /** The generation the next flush commits in, and early write-outs write blocks of. */
  Generation pending() {
    return pending;
  }

  /** The current snapshot of the three layers. */
  VolumeState state() {
    return state;
  }

  /** Changed blocks in the dirty map. */
  int dirtyCount() {
    return state.dirty.size();
  }

  /** Whether the dirty map holds more than {@link #MAX_DIRTY_ENTRIES} changed blocks. */
  boolean overfull() {
    return state.dirty.size() > MAX_DIRTY_ENTRIES;
  }

  /** Entries in the write-out queue (for tests: it stays proportional to dirty blocks). */
  int queuedForWriteOut() {
    return state.queued.get();
  }

  /** Runs {@code op} under the write side of the phase lock: no writer is running meanwhile. */
  <T> T exclusive(Supplier<T> op) {
    phase.writeLock().lock();
    try {
      return op.get();
    } finally {
      phase.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------- write path

  /** Copies {@code n} bytes from {@code src} into block {@code index} at {@code inBlock}. */
  void write(long index, int inBlock, int n, ByteBuffer src) {
    writeBlock(index, inBlock, n, src, false);
  }

  /**
   * {@link #write} if that needs no waiting: the phase lock's read side and the block's stripe
   * lock are free and the block's old content, if an unaligned partial write needs it, is in
   * memory. Else throws {@link WouldBlock} before changing anything of this block. The caller
   * checked {@link #roomFor} first.
   */
  void writeNow(long index, int inBlock, int n, ByteBuffer src) {
    writeBlock(index, inBlock, n, src, true);
  }

  /**
   * Whether {@code bytes} more in memory keep the buffer under its dirty limit and the dirty
   * map under {@link #MAX_DIRTY_ENTRIES}: a write of that size then needs no write-out first.
   */
  boolean roomFor(int bytes) {
    return dirtyBytes.get() + bytes + blockSize <= dirtyLimit && !overfull();
  }

  private void writeBlock(long index, int inBlock, int n, ByteBuffer src, boolean now) {
    if (now && (phase.hasQueuedThreads() || superseded.full())) {
      // a flush waits for the write side (do not barge past it), or deletes must catch up
      throw WouldBlock.INSTANCE;
    }
    WouldBlock.lock(phase.readLock(), now);
    try {
      lifecycle.checkWritable();
      ReentrantLock l = stripes.of(index);
      WouldBlock.lock(l, now);
      try {
        VolumeState s = state;
        Entry e = s.dirty.get(index);
        boolean aligned = Entry.Mem.aligned(inBlock, n);
        if (e instanceof Entry.Mem) {
          Entry.Mem m = (Entry.Mem) e;
          if (m.sealed) {
            // being written out: change a copy (its bytes were counted already; the write-out
            // finds its entry replaced and deletes the block it wrote)
            m = n == blockSize ? new Entry.Mem(new byte[blockSize]) : m.copy();
          }
          if (!aligned && m.written != null) { // an unaligned write needs the whole block
            m.complete(reader.belowDirty(s, index, now, Map.of()));
          }
          src.get(m.data, inBlock, n);
          m.mark(inBlock, n);
          if (m != e) {
            s.dirty.put(index, m);
            s.enqueue(index);
          }
          return;
        }
        Entry.Mem m;
        if (n == blockSize) {
          m = new Entry.Mem(new byte[blockSize]);
        } else if (e == null && aligned && !s.hasBelow(index)) {
          // only these sectors so far; the rest stays in the committed map until write-out
          // (no read now, but the block starts coming). Never over a frozen entry (a failed
          // flush's restore would drop it) or a journaled one (the merges read the root)
          m = Entry.Mem.partial(blockSize);
          reader.warm(s.root, index);
        } else {
          m = new Entry.Mem(reader.baseContent(s, index, e, now));
        }
        src.get(m.data, inBlock, n);
        m.mark(inBlock, n);
        s.dirty.put(index, m);
        s.enqueue(index);
        dirtyBytes.addAndGet(blockSize);
        superseded(e);
      } finally {
        l.unlock();
      }
    } finally {
      phase.readLock().unlock();
    }
  }

  /**
   * After writes: keeps the write-out queue bounded; past half the dirty limit starts a
   * write-out in the background (dirty blocks stream out while writers go on); past the limit
   * writes blocks out in the caller (it waits: backpressure).
   */
  void bound() {
    boundQueue(state);
    long d = dirtyBytes.get();
    if (d > dirtyLimit) {
      writeOut.writeOutEarly();
    } else if (d > dirtyLimit / 2) {
      writeOut.startBackground();
    }
  }

  /** {@link #bound} for a writer that must not wait: never writes out in the caller. */
  void boundNow() {
    boundQueue(state);
    if (dirtyBytes.get() > dirtyLimit / 2) {
      writeOut.startBackground();
    }
  }

  /**
   * Keeps the write-out queue proportional to the blocks in memory: a block written, trimmed
   * and written again without a flush is queued each time it becomes an in-memory block, so
   * without this the queue would grow with every such cycle. Past two entries per in-memory
   * block (plus slack), drops the stale entries (indexes no longer in memory) and duplicates.
   * Every in-memory block keeps at least one entry: an index taken out is put back if its
   * block is in memory, and a writer that makes a block in memory queues it afterwards.
   */
  private void boundQueue(VolumeState s) {
    int live = (int) Math.min(Integer.MAX_VALUE / 4, dirtyBytes.get() >>> shift);
    if (s.queued.get() <= 2 * live + QUEUE_SLACK || !compacting.compareAndSet(false, true)) {
      return;
    }
    try {
      int n = s.queued.get(); // only what is there now: writers keep adding meanwhile
      LinkedHashSet<Long> keep = new LinkedHashSet<>();
      for (int i = 0; i < n; i++) {
        Long index = s.poll();
        if (index == null) {
          break;
        }
        if (s.dirty.get(index) instanceof Entry.Mem) {
          keep.add(index);
        }
      }
      keep.forEach(s::enqueue);
    } finally {
      compacting.set(false);
    }
  }

  /** Makes the whole blocks {@code [lo, hi)} holes; work and memory bounded by the window. */
  void discard(long lo, long hi) {
    phase.readLock().lock();
    try {
      lifecycle.checkWritable();
      VolumeState s = state;
      TreeSet<Long> indexes = new TreeSet<>();
      BlockMap.allocated(io::node, s.root, lo, hi, indexes::add);
      if (s.dirty.size() + s.frozen.size() + s.journaled.size() < hi - lo) {
        addKeysIn(s.journaled, lo, hi, indexes);
        addKeysIn(s.frozen, lo, hi, indexes);
        addKeysIn(s.dirty, lo, hi, indexes);
      } else {
        for (long i = lo; i < hi; i++) {
          if (s.dirty.containsKey(i) || s.hasBelow(i)) {
            indexes.add(i);
          }
        }
      }
      for (long index : indexes) {
        ReentrantLock l = stripes.of(index);
        l.lock();
        try {
          Entry prior = s.dirty.put(index, Entry.HOLE);
          if (prior instanceof Entry.Mem) {
            dirtyBytes.addAndGet(-blockSize);
          }
          superseded(prior);
        } finally {
          l.unlock();
        }
      }
    } finally {
      phase.readLock().unlock();
    }
  }

  private static void addKeysIn(Map<Long, Entry> map, long lo, long hi, Set<Long> into) {
    for (Long k : map.keySet()) {
      if (k >= lo && k < hi) {
        into.add(k);
      }
    }
  }

  /** Queues a replaced early-written block for deletion ({@link Superseded}). */
  private void superseded(Entry prior) {
    if (prior instanceof Entry.Stored) {
      superseded.add(((Entry.Stored) prior).ref);
    }
  }

  /** Deletes the queued superseded blocks now (a flush calls it first). */
  void deleteSuperseded() {
    superseded.deleteAll();
  }


  // ---------------------------------------------------------------- flush swaps

  /**
   * Starts a flush, under the write side of the phase lock: if anything is dirty, calls
   * {@code reserve} with the pending generation's number (it throws to refuse it; nothing has
   * changed then), moves the pending generation up by one and the dirty blocks to frozen.
   * Returns null if nothing is dirty, unless {@code evenIfClean} (a head commit of the
   * journaled changes alone): then the frozen map is empty.
   */
  Frozen freeze(LongConsumer reserve, boolean evenIfClean) {
    phase.writeLock().lock();
    try {
      VolumeState s = state;
      if (s.dirty.isEmpty() && !evenIfClean) {
        return null;
      }
      Generation g = pending;
      reserve.accept(g.number);
      pending = g.following();
      state = VolumeState.fresh(s.dirty, s.journaled, s.root);
      return new Frozen(s.dirty, g, s.root);
    } finally {
      phase.writeLock().unlock();
    }
  }

  /**
   * Starts a head commit of the journaled changes alone: moves the pending generation up by
   * one (as {@link #freeze}) and freezes nothing; the dirty blocks stay where they are.
   */
  Frozen reserveOnly(LongConsumer reserve) {
    phase.writeLock().lock();
    try {
      Generation g = pending;
      reserve.accept(g.number);
      pending = g.following();
      return new Frozen(Map.of(), g, state.root);
    } finally {
      phase.writeLock().unlock();
    }
  }

  /**
   * Ends a flush that committed {@code frozen} and the journaled changes as {@code root} (a
   * head commit): they leave the buffer.
   */
  void committed(Map<Long, Entry> frozen, BlockRef root) {
    phase.writeLock().lock();
    try {
      state = state.withLayers(Map.of(), new ConcurrentHashMap<>(), root);
    } finally {
      phase.writeLock().unlock();
    }
    dirtyBytes.addAndGet(-inMemory(frozen) * blockSize);
  }

  /**
   * Ends a flush that committed {@code frozen} through the flush journal as {@code changes}
   * (index to ref, null for a hole): they move to the journaled layer above the same root.
   */
  void journaled(Map<Long, Entry> frozen, Map<Long, BlockRef> changes) {
    phase.writeLock().lock();
    try {
      VolumeState s = state;
      addJournaled(s.journaled, changes);
      state = s.withLayers(Map.of(), s.journaled, s.root);
    } finally {
      phase.writeLock().unlock();
    }
    dirtyBytes.addAndGet(-inMemory(frozen) * blockSize);
  }

  /**
   * Sets the changes of replayed journal entries above the root, before anything else
   * touches the buffer (a writer recovering its volume's journal).
   */
  void replay(Map<Long, BlockRef> changes) {
    phase.writeLock().lock();
    try {
      addJournaled(state.journaled, changes);
    } finally {
      phase.writeLock().unlock();
    }
  }

  /** The journaled changes (index to ref, null for a hole), in index order. */
  java.util.NavigableMap<Long, BlockRef> journaledChanges() {
    java.util.TreeMap<Long, BlockRef> out = new java.util.TreeMap<>();
    state.journaled.forEach((i, e) ->
        out.put(i, e == Entry.HOLE ? null : ((Entry.Stored) e).ref));
    return out;
  }

  private static void addJournaled(Map<Long, Entry> journaled, Map<Long, BlockRef> changes) {
    changes.forEach((i, ref) -> journaled.put(i, ref == null ? Entry.HOLE
        : new Entry.Stored(ref)));
  }

  private static long inMemory(Map<Long, Entry> frozen) {
    return frozen.values().stream().filter(x -> x instanceof Entry.Mem).count();
  }

  /**
   * Puts the buffered changes above {@code root}, a head adopted instead of the one read (it
   * holds the journaled changes too: the commit it came from wrote them).
   */
  void adopt(BlockRef root) {
    phase.writeLock().lock();
    try {
      state = state.withLayers(state.frozen, new ConcurrentHashMap<>(), root);
    } finally {
      phase.writeLock().unlock();
    }
  }

  /** Puts a failed flush's blocks back under the newer dirty ones. */
  void restore(Map<Long, Entry> frozen) {
    phase.writeLock().lock();
    try {
      VolumeState s = state;
      long shadowed = 0;
      for (Map.Entry<Long, Entry> me : frozen.entrySet()) {
        Entry prior = s.dirty.putIfAbsent(me.getKey(), me.getValue());
        if (prior != null && me.getValue() instanceof Entry.Mem) {
          shadowed++;
        } else if (prior == null && me.getValue() instanceof Entry.Mem) {
          s.enqueue(me.getKey());
        }
      }
      state = s.withLayers(Map.of(), s.journaled, s.root);
      dirtyBytes.addAndGet(-shadowed * blockSize);
    } finally {
      phase.writeLock().unlock();
    }
  }
}
