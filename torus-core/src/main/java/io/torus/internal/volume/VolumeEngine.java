package io.torus.internal.volume;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.BlockVolume;
import io.torus.ConcurrentUpdateException;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.Extent;
import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.map.BlockMap;
import io.torus.internal.map.MapNode;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * An open volume: the write buffer, read path and flush (commit) of one volume on one node.
 *
 * <p>(Over 800 lines on purpose: the read path, write path, early write-out and flush share
 * one lock protocol — the phase lock, the stripe locks and the state swap described below —
 * and keeping them in one class keeps that protocol checkable in one place.)
 *
 * <p><b>State.</b> A volatile {@link State} holds three layers, newest first: {@code dirty}
 * (blocks changed since the last flush started), {@code frozen} (the blocks a running flush
 * is committing; immutable) and {@code root} (the committed block map). A read takes one
 * snapshot of the state and looks a block up in that order, so it always sees a consistent
 * picture, before, during or after a flush.
 *
 * <p><b>Invariants.</b> (1) Every change is in exactly one of dirty, frozen or the tree
 * reachable from root; a flush moves dirty to frozen, then frozen into a new root.
 * (2) The bytes of an in-memory dirty block are mutated only under its stripe lock, and only
 * while in the current dirty map; frozen blocks are never mutated. (3) Refs of the pending
 * generation are unique for all time: every generation this writer uses lies in the range
 * the metadata service reserved for it durably ({@link Head#reserved()}, reserved when the
 * lock was taken and extended by each commit), each flush attempt moves the pending
 * generation up by one, and a generation is never handed out twice.
 *
 * <p><b>Concurrency.</b> Writers (write, trim, zero, early write-out) hold the read side of
 * the phase lock; a flush takes the write side only for the instants it swaps the state, so
 * a write either lands before the freeze (and is committed by that flush) or after it.
 * Flushes are serialised by {@code flushLock}; a flush covers every write completed before it
 * was called.
 *
 * <p><b>Failure.</b> A flush that fails before its commit puts its frozen blocks back under
 * the newer dirty ones: nothing is lost and the flush reports the error. A refused commit
 * (lease lost, head changed) fences the volume: every later write and flush fails.
 */
public final class VolumeEngine implements BlockVolume {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);
  private static final int STRIPES = 256;
  /** Blocks a discard handles at a time. */
  private static final long DISCARD_WINDOW = 1 << 16;
  /** Changed blocks an open volume keeps uncommitted at most (about 100 MiB of entries). */
  static final int MAX_DIRTY_ENTRIES = 1 << 20;

  private static final class State {
    final ConcurrentHashMap<Long, Entry> dirty;
    /** Indexes of dirty's in-memory blocks, oldest first (may hold stale ones). */
    final ConcurrentLinkedQueue<Long> inMemory;
    final Map<Long, Entry> frozen;
    final BlockRef root;

    State(ConcurrentHashMap<Long, Entry> dirty, ConcurrentLinkedQueue<Long> inMemory,
        Map<Long, Entry> frozen, BlockRef root) {
      this.dirty = dirty;
      this.inMemory = inMemory;
      this.frozen = frozen;
      this.root = root;
    }

    /** Adds to {@link #inMemory}, counted. */
    void enqueue(long index) {
      inMemory.add(index);
      queued.incrementAndGet();
    }

    /** Takes the oldest index of {@link #inMemory}, or null. */
    Long poll() {
      Long index = inMemory.poll();
      if (index != null) {
        queued.decrementAndGet();
      }
      return index;
    }

    /** Entries in {@link #inMemory}, stale ones included (its size() is O(n)). */
    final java.util.concurrent.atomic.AtomicInteger queued =
        new java.util.concurrent.atomic.AtomicInteger();

    static State fresh(Map<Long, Entry> frozen, BlockRef root) {
      return new State(new ConcurrentHashMap<>(), new ConcurrentLinkedQueue<>(), frozen, root);
    }

    State withRoot(Map<Long, Entry> newFrozen, BlockRef newRoot) {
      return new State(dirty, inMemory, newFrozen, newRoot);
    }
  }

  private final VolumeInfo info;
  private final int blockSize;
  private final int shift;
  private final BlockLayer layer;
  private final BlockCache cache;
  private final MetadataService meta;
  private final VolumeLock lock;
  private final Executor executor;
  private final Executor ioPool;
  private final long dirtyLimit;
  private final Runnable onClose;
  private final VolumeMetrics metrics;

  private final ReentrantReadWriteLock phase = new ReentrantReadWriteLock();
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private final ReentrantLock flushLock = new ReentrantLock();
  private final ReentrantLock evictLock = new ReentrantLock();
  private final AtomicLong dirtyBytes = new AtomicLong();

  private volatile long size;
  private volatile State state;
  private volatile Generation pending;
  private Head head; // guarded by flushLock
  private volatile TorusException fenced;
  /**
   * Set when a head commit's outcome is unknown (it may still be applied): until a later
   * commit succeeds (which proves it never will be), no block the doubtful commit may
   * reference is deleted by this handle. Guarded by the stripe locks' happens-before via
   * volatile.
   */
  private volatile boolean commitInDoubt;
  private volatile boolean closing;
  private volatile boolean closed;

  /**
   * @param lock the writer lock, or null for a read-only handle
   * @param head the head to start from (for a writer: the head in {@code lock})
   * @param executor completes user futures
   * @param ioPool runs parallel block writes of flushes; never blocks on volume locks
   * @param metrics where to count this handle's operations
   */
  public VolumeEngine(VolumeInfo info, BlockLayer layer, BlockCache cache,
      MetadataService meta, VolumeLock lock, Head head, Executor executor, Executor ioPool,
      long dirtyLimit, VolumeMetrics metrics, Runnable onClose) {
    this.info = info;
    this.blockSize = info.blockSize();
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.layer = layer;
    this.cache = cache;
    this.meta = meta;
    this.lock = lock;
    this.executor = executor;
    this.ioPool = ioPool;
    this.dirtyLimit = dirtyLimit;
    this.onClose = onClose;
    this.metrics = metrics;
    this.size = info.size();
    this.head = head;
    this.state = State.fresh(Map.of(), head.root());
    this.pending = new Generation(info.id(), head.generation() + 1);
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  @Override
  public String name() {
    return info.name();
  }

  @Override
  public long id() {
    return info.id();
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public boolean isReadOnly() {
    return lock == null;
  }

  /** The writer's fencing epoch, or 0 for a read-only handle. */
  public long epoch() {
    return lock == null ? 0 : lock.epoch();
  }

  /** The root of the block map this handle reads below its uncommitted changes. */
  public BlockRef root() {
    return state.root;
  }

  /** Makes the volume see a larger size (after the metadata service recorded it). */
  public void grow(long newSize) {
    if (newSize > size) {
      size = newSize;
    }
  }

  /**
   * Fences the volume: every later write and flush fails with {@code cause}. Called when the
   * node's lease is lost. Idempotent; the first cause wins.
   */
  public void fence(TorusException cause) {
    if (fenced == null) {
      fenced = cause;
      log.warn("volume '{}' is fenced: every later write and flush fails: {}", info.name(),
          cause.toString());
    }
  }

  // ---------------------------------------------------------------- async API

  private <T> CompletableFuture<T> async(Supplier<T> op) {
    if (closed) {
      return CompletableFuture.failedFuture(closedError());
    }
    try {
      return CompletableFuture.supplyAsync(() -> {
        try {
          return op.get();
        } catch (RuntimeException e) {
          throw TorusException.of(e);
        }
      }, executor);
    } catch (RuntimeException e) { // rejected: the executor shut down
      return CompletableFuture.failedFuture(new TorusClosedException(
          "volume '" + info.name() + "' node is shutting down", e));
    }
  }

  @Override
  public CompletableFuture<Void> readAsync(long offset, ByteBuffer dst) {
    try {
      checkRange(offset, dst.remaining());
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    return async(() -> {
      readBlocking(offset, dst);
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> writeAsync(long offset, ByteBuffer src) {
    try {
      checkWritable();
      checkRange(offset, src.remaining());
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    return async(() -> {
      writeBlocking(offset, src);
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> flushAsync() {
    if (lock == null) {
      return closed ? CompletableFuture.failedFuture(closedError())
          : CompletableFuture.completedFuture(null);
    }
    return async(() -> {
      flushBlocking();
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> trimAsync(long offset, long length) {
    return discardAsync(offset, length);
  }

  @Override
  public CompletableFuture<Void> writeZeroesAsync(long offset, long length) {
    return discardAsync(offset, length);
  }

  private CompletableFuture<Void> discardAsync(long offset, long length) {
    try {
      checkWritable();
      checkRange(offset, length);
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    return async(() -> {
      discardBlocking(offset, length);
      return null;
    });
  }

  @Override
  public CompletableFuture<List<Extent>> extentsAsync(long offset, long length) {
    try {
      checkRange(offset, length);
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    return async(() -> {
      State s = state;
      return Extents.of(this::loadNode, s.root, s.frozen, s.dirty, offset, length, shift);
    });
  }

  // ---------------------------------------------------------------- blocking API
  // The blocking twins run in the caller's thread: no hand-off to the executor.

  @Override
  public void read(long offset, ByteBuffer dst) {
    checkOpen();
    checkRange(offset, dst.remaining());
    inline(() -> readBlocking(offset, dst));
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    checkWritable();
    checkRange(offset, src.remaining());
    inline(() -> writeBlocking(offset, src));
  }

  @Override
  public void flush() {
    checkOpen();
    if (lock != null) {
      inline(this::flushBlocking);
    }
  }

  @Override
  public void trim(long offset, long length) {
    writeZeroes(offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length) {
    checkWritable();
    checkRange(offset, length);
    inline(() -> discardBlocking(offset, length));
  }

  private static void inline(Runnable op) {
    try {
      op.run();
    } catch (RuntimeException e) {
      throw TorusException.of(e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw closedError();
    }
  }

  // ---------------------------------------------------------------- checks

  private void checkRange(long offset, long length) {
    if (offset < 0) {
      throw TorusException.invalid("offset < 0: " + offset);
    }
    if (length < 0) {
      throw TorusException.invalid("length < 0: " + length);
    }
    long sz = size;
    if (offset > sz || length > sz - offset) {
      throw TorusException.invalid("range [" + offset + ", " + offset + " + " + length
          + ") is past the end of volume '" + info.name() + "' (size " + sz + ")");
    }
  }

  private void checkWritable() {
    if (closing) {
      throw closedError();
    }
    checkCommittable();
  }

  private void checkCommittable() {
    if (closed) {
      throw closedError();
    }
    if (lock == null) {
      throw new TorusException(ErrorCode.EPERM,
          "volume '" + info.name() + "' is open read-only");
    }
    TorusException f = fenced;
    if (f != null) {
      throw fencedError(f);
    }
  }

  private TorusException fencedError(TorusException cause) {
    String msg = "volume '" + info.name() + "' is fenced: " + cause.getMessage();
    return cause instanceof ConcurrentUpdateException
        ? new ConcurrentUpdateException(msg, cause)
        : new LeaseLostException(msg, cause);
  }

  private TorusClosedException closedError() {
    return new TorusClosedException("volume '" + info.name() + "' is closed");
  }

  private ReentrantLock stripe(long index) {
    return stripes[(int) ((index ^ (index >>> 8)) & (STRIPES - 1))];
  }

  // ---------------------------------------------------------------- read path

  private void readBlocking(long offset, ByteBuffer dst) {
    int n = dst.remaining();
    timed(metrics.read, () -> readBlocks(offset, dst));
    metrics.readBytes.increment(n);
  }

  private void readBlocks(long offset, ByteBuffer dst) {
    long off = offset;
    State s = state;
    BlockMap.Cursor committed = new BlockMap.Cursor(this::loadNode, s.root);
    prefetch(s, offset, dst.remaining());
    while (dst.hasRemaining()) {
      long index = off >>> shift;
      int inBlock = (int) (off & (blockSize - 1));
      int n = Math.min(blockSize - inBlock, dst.remaining());
      readBlock(s, committed, index, inBlock, n, dst);
      off += n;
    }
  }

  /**
   * For a read over several blocks of a layer whose gets are round trips, fetches the committed
   * blocks it needs into the cache in parallel first, so the copy loop below finds them there.
   * Only a hint: a block evicted again in between is simply fetched once more.
   */
  private void prefetch(State s, long offset, int length) {
    int parallel = layer.readParallelism();
    if (parallel <= 1 || length <= blockSize || !cache.enabled()
        || (long) length * 4 > cache.capacity()) {
      return;
    }
    long first = offset >>> shift;
    long last = (offset + length - 1) >>> shift;
    BlockMap.Cursor cursor = new BlockMap.Cursor(this::loadNode, s.root);
    List<BlockRef> wanted = new ArrayList<>();
    for (long i = first; i <= last; i++) {
      if (!s.dirty.containsKey(i) && !s.frozen.containsKey(i)) {
        BlockRef ref = cursor.lookup(i);
        if (ref != null && cache.block(ref) == null) {
          wanted.add(ref);
        }
      }
    }
    if (wanted.size() < 2) {
      return;
    }
    List<CompletableFuture<Void>> gets = new ArrayList<>(wanted.size());
    for (BlockRef ref : wanted) {
      gets.add(CompletableFuture.runAsync(() -> loadBlock(ref), ioPool));
    }
    for (CompletableFuture<Void> g : gets) {
      try {
        g.join();
      } catch (RuntimeException e) {
        return; // the copy loop fetches it again and reports the error
      }
    }
  }

  /** Copies {@code n} bytes of block {@code index} from {@code inBlock} into {@code dst}. */
  private void readBlock(State s, BlockMap.Cursor committed, long index, int inBlock, int n,
      ByteBuffer dst) {
    Entry e = s.dirty.get(index);
    if (e != null && e != Entry.HOLE) {
      // Under the stripe lock: in-memory bytes change under it, and a superseded pending
      // block is deleted under it, so a read holding it never sees either half-done.
      ReentrantLock l = stripe(index);
      l.lock();
      try {
        e = s.dirty.get(index);
        if (e instanceof Entry.Mem) {
          dst.put(((Entry.Mem) e).data, inBlock, n);
          return;
        }
        if (e instanceof Entry.Stored) {
          copyFrom(loadBlock(((Entry.Stored) e).ref), inBlock, n, dst);
          return;
        }
      } finally {
        l.unlock();
      }
    }
    if (e == null) {
      e = s.frozen.get(index);
    }
    if (e instanceof Entry.Mem) { // frozen: immutable
      dst.put(((Entry.Mem) e).data, inBlock, n);
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
    copyFrom(loadBlock(ref), inBlock, n, dst);
  }

  private static void copyFrom(ByteBuffer block, int inBlock, int n, ByteBuffer dst) {
    dst.put(dst.position(), block, inBlock, n);
    dst.position(dst.position() + n);
  }

  private static final byte[] ZEROES = new byte[64 * 1024];

  /** Reads a data block, shared with the cache: the caller must not modify it. */
  private ByteBuffer loadBlock(BlockRef ref) {
    ByteBuffer b = cache.block(ref);
    if (b == null) {
      b = checkSize(ref, layer.get(ref));
      cache.putBlock(ref, b);
    }
    return b;
  }

  private ByteBuffer checkSize(BlockRef ref, ByteBuffer b) {
    if (b.remaining() != blockSize) {
      throw new CorruptBlockException("block " + ref + " has " + b.remaining()
          + " bytes, volume '" + info.name() + "' has " + blockSize + "-byte blocks");
    }
    return b;
  }

  private MapNode loadNode(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node == null) {
      node = MapNode.decode(ref, layer.get(ref));
      cache.putNode(ref, node);
    }
    return node;
  }

  /** The current content of block {@code index} below the dirty map, as a new array. */
  private byte[] baseContent(State s, long index, Entry e) {
    if (e == null) {
      e = s.frozen.get(index);
    }
    if (e instanceof Entry.Mem) {
      return ((Entry.Mem) e).data.clone();
    }
    BlockRef ref = e == null ? BlockMap.lookup(this::loadNode, s.root, index)
        : e == Entry.HOLE ? null : ((Entry.Stored) e).ref;
    if (ref == null) {
      return new byte[blockSize];
    }
    ByteBuffer cached = cache.block(ref);
    if (cached != null) {
      byte[] data = new byte[blockSize];
      cached.get(0, data);
      return data;
    }
    // Not cached: the layer hands over a buffer of our own; use its array when it is exactly
    // the block (no copy), and leave the cache alone (these bytes are about to change).
    ByteBuffer fresh = checkSize(ref, layer.get(ref));
    if (fresh.hasArray() && fresh.arrayOffset() == 0 && fresh.position() == 0
        && fresh.array().length == blockSize && !fresh.isReadOnly()) {
      return fresh.array();
    }
    byte[] data = new byte[blockSize];
    fresh.get(fresh.position(), data);
    return data;
  }


  // ---------------------------------------------------------------- write path

  private void writeBlocking(long offset, ByteBuffer src) {
    int n = src.remaining();
    timed(metrics.write, () -> writeBlocks(offset, src));
    metrics.writeBytes.increment(n);
  }

  private void writeBlocks(long offset, ByteBuffer src) {
    long off = offset;
    while (src.hasRemaining()) {
      long index = off >>> shift;
      int inBlock = (int) (off & (blockSize - 1));
      int n = Math.min(blockSize - inBlock, src.remaining());
      writeBlock(index, inBlock, n, src);
      off += n;
    }
    boundQueue(state);
    if (dirtyBytes.get() > dirtyLimit) {
      writeOutEarly();
    }
    autoFlush();
  }

  private void writeBlock(long index, int inBlock, int n, ByteBuffer src) {
    phase.readLock().lock();
    try {
      checkWritable();
      ReentrantLock l = stripe(index);
      l.lock();
      try {
        State s = state;
        Entry e = s.dirty.get(index);
        if (e instanceof Entry.Mem) {
          src.get(((Entry.Mem) e).data, inBlock, n);
          return;
        }
        byte[] data = n == blockSize ? new byte[blockSize] : baseContent(s, index, e);
        src.get(data, inBlock, n);
        s.dirty.put(index, new Entry.Mem(data));
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

  private final java.util.concurrent.atomic.AtomicBoolean compacting =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Queued write-out entries a handle keeps at most, beyond two per in-memory block. */
  static final int QUEUE_SLACK = 1024;

  /**
   * Keeps the write-out queue proportional to the blocks in memory: a block written, trimmed
   * and written again without a flush is queued each time it becomes an in-memory block, so
   * without this the queue would grow with every such cycle. Past two entries per in-memory
   * block (plus slack), drops the stale entries (indexes no longer in memory) and duplicates.
   * Every in-memory block keeps at least one entry: an index taken out is put back if its
   * block is in memory, and a writer that makes a block in memory queues it afterwards.
   */
  private void boundQueue(State s) {
    int live = (int) Math.min(Integer.MAX_VALUE / 4, dirtyBytes.get() >>> shift);
    if (s.queued.get() <= 2 * live + QUEUE_SLACK || !compacting.compareAndSet(false, true)) {
      return;
    }
    try {
      int n = s.queued.get(); // only what is there now: writers keep adding meanwhile
      java.util.LinkedHashSet<Long> keep = new java.util.LinkedHashSet<>();
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

  /** Entries in the write-out queue (for tests: it stays proportional to dirty blocks). */
  int queuedForWriteOut() {
    return state.queued.get();
  }

  private void discardBlocking(long offset, long length) {
    timed(metrics.discard, () -> discardBlocks(offset, length));
  }

  private void discardBlocks(long offset, long length) {
    long end = offset + length;
    long firstWhole = (offset + blockSize - 1) >>> shift;
    long endWhole = end >>> shift;
    if (firstWhole >= endWhole) { // inside one block, or straddling two partially
      zeroPartial(offset, end);
      return;
    }
    zeroPartial(offset, firstWhole << shift);
    zeroPartial(endWhole << shift, end);
    for (long lo = firstWhole; lo < endWhole; lo += DISCARD_WINDOW) {
      discardWindow(lo, Math.min(endWhole, lo + DISCARD_WINDOW));
      autoFlush();
    }
  }

  /** Makes the whole blocks {@code [lo, hi)} holes; work and memory bounded by the window. */
  private void discardWindow(long lo, long hi) {
    phase.readLock().lock();
    try {
      checkWritable();
      State s = state;
      java.util.TreeSet<Long> indexes = new java.util.TreeSet<>();
      BlockMap.allocated(this::loadNode, s.root, lo, hi, indexes::add);
      if (s.dirty.size() + s.frozen.size() < hi - lo) {
        addKeysIn(s.frozen, lo, hi, indexes);
        addKeysIn(s.dirty, lo, hi, indexes);
      } else {
        for (long i = lo; i < hi; i++) {
          if (s.dirty.containsKey(i) || s.frozen.containsKey(i)) {
            indexes.add(i);
          }
        }
      }
      for (long index : indexes) {
        ReentrantLock l = stripe(index);
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

  private static void addKeysIn(Map<Long, Entry> map, long lo, long hi,
      java.util.Set<Long> into) {
    for (Long k : map.keySet()) {
      if (k >= lo && k < hi) {
        into.add(k);
      }
    }
  }

  /**
   * Bounds the dirty map's size (not only its bytes): past {@link #MAX_DIRTY_ENTRIES} changed
   * blocks, commits them, as a flush would. Committing early only makes data durable sooner.
   * Skipped if a flush is already running (it shrinks the map anyway).
   */
  private void autoFlush() {
    if (state.dirty.size() > MAX_DIRTY_ENTRIES && flushLock.tryLock()) {
      try {
        flushDirty();
      } catch (RuntimeException e) {
        // the changes stay buffered; the caller's next flush reports the problem
        log.warn("volume '{}': early commit of {} changed blocks failed: {}", info.name(),
            state.dirty.size(), e.toString());
      } finally {
        flushLock.unlock();
      }
    }
  }


  private void zeroPartial(long from, long to) {
    if (to > from) {
      writeBlocks(from, ByteBuffer.allocate((int) (to - from)));
    }
  }

  /**
   * Bounds memory: writes in-memory dirty blocks out as blocks of the pending generation
   * until the buffer is below three quarters of its limit. One thread does it at a time;
   * other writers wait for it (backpressure).
   */
  private void writeOutEarly() {
    if (!evictLock.tryLock()) {
      evictLock.lock(); // wait for the running write-out, then let the writer go on
      evictLock.unlock();
      return;
    }
    try {
      while (dirtyBytes.get() > dirtyLimit * 3 / 4) {
        phase.readLock().lock();
        try {
          checkWritable();
          State s = state;
          Generation g = pending;
          List<Long> batch = new ArrayList<>();
          for (Long index = s.poll(); index != null; index = s.poll()) {
            if (s.dirty.get(index) instanceof Entry.Mem && !batch.contains(index)) {
              batch.add(index);
              if (batch.size() == 64) {
                break;
              }
            }
          }
          if (batch.isEmpty()) {
            return;
          }
          List<CompletableFuture<Void>> writes = new ArrayList<>(batch.size());
          for (long index : batch) {
            writes.add(CompletableFuture.runAsync(() -> writeOut(s, g, index), ioPool));
          }
          joinAll(writes);
        } finally {
          phase.readLock().unlock();
        }
      }
    } finally {
      evictLock.unlock();
    }
  }

  /**
   * Deletes a block written out early that a newer change in the dirty map replaced: only the
   * dirty map ever referred to it (it was never committed), and readers resolve and read such
   * blocks under the stripe lock the caller holds. Without this, a long run of writes with no
   * flush would fill the stores with dead blocks no collector may touch (they are pending).
   * A failed delete only leaves garbage for the collector.
   */
  private void superseded(Entry prior) {
    if (prior instanceof Entry.Stored && !commitInDoubt) {
      try {
        layer.delete(((Entry.Stored) prior).ref);
      } catch (RuntimeException e) {
        log.debug("could not delete superseded block {}: {}", ((Entry.Stored) prior).ref,
            e.toString());
      }
    }
  }

  private void writeOut(State s, Generation g, long index) {
    ReentrantLock l = stripe(index);
    l.lock();
    try {
      Entry e = s.dirty.get(index);
      if (e instanceof Entry.Mem) {
        byte[] data = ((Entry.Mem) e).data;
        BlockRef ref = g.next(BlockKind.DATA);
        try {
          putBlock(ref, ByteBuffer.wrap(data));
        } catch (RuntimeException failed) {
          s.enqueue(index); // still in memory: a later write-out or the flush retries
          throw failed;
        }
        s.dirty.put(index, new Entry.Stored(ref));
        dirtyBytes.addAndGet(-blockSize);
      }
    } finally {
      l.unlock();
    }
  }

  private void putBlock(BlockRef ref, ByteBuffer data) {
    CRC32C crc = new CRC32C();
    crc.update(data.duplicate());
    layer.put(ref, data, (int) crc.getValue());
    cache.putBlock(ref, data);
  }

  private static void joinAll(List<CompletableFuture<Void>> futures) {
    TorusException first = null;
    for (CompletableFuture<Void> f : futures) {
      try {
        f.join();
      } catch (RuntimeException e) {
        if (first == null) {
          first = TorusException.of(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  // ---------------------------------------------------------------- flush

  private void flushBlocking() {
    timed(metrics.flush, this::flushDirty);
  }

  private void timed(io.micrometer.core.instrument.Timer timer, Runnable op) {
    long start = System.nanoTime();
    try {
      op.run();
    } catch (RuntimeException e) {
      metrics.error(timer);
      throw e;
    } finally {
      timer.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  private void flushDirty() {
    flushLock.lock();
    try {
      try {
        flushOnce();
      } catch (DoubtSettled settled) {
        flushOnce(); // from the adopted head; a second moved head fences (see flushOnce)
      }
    } finally {
      flushLock.unlock();
    }
  }

  /** Thrown by {@link #flushOnce} after adopting a head a doubtful commit of ours set. */
  private static final class DoubtSettled extends RuntimeException {
    DoubtSettled() {
      super(null, null, false, false);
    }
  }

  private void flushOnce() {
    {
      checkCommittable();
      State s;
      Generation g = null;
      phase.writeLock().lock();
      try {
        s = state;
        if (!s.dirty.isEmpty()) {
          g = pending;
          if (g.number + 1 > head.reserved()) {
            TorusException e = new TorusException(ErrorCode.EIO, "volume '" + info.name()
                + "': " + (g.number - head.generation()) + " flushes failed in a row and used"
                + " up the generations reserved for this writer; reopen the volume");
            fence(e);
            throw e;
          }
          pending = new Generation(info.id(), g.number + 1);
          state = State.fresh(s.dirty, s.root);
        }
      } finally {
        phase.writeLock().unlock();
      }
      if (g == null) { // nothing to commit: only make sure the lock is still ours
        try {
          meta.checkLock(lock);
        } catch (LeaseLostException e) {
          fence(e);
          throw fencedError(e);
        }
        return;
      }
      Map<Long, Entry> frozen = s.dirty;
      BlockRef root;
      try {
        root = commit(frozen, g);
      } catch (RuntimeException e) {
        restore(frozen);
        if (e instanceof LeaseLostException) { // e.g. peers saw a newer writer's epoch
          fence((LeaseLostException) e);
        }
        if (e instanceof ConcurrentUpdateException && !doubtful.isEmpty()) {
          if (adoptDoubtfulHead()) {
            throw new DoubtSettled();
          }
          fence((ConcurrentUpdateException) e);
        }
        throw e;
      }
      long inMemory = frozen.values().stream().filter(x -> x instanceof Entry.Mem).count();
      phase.writeLock().lock();
      try {
        state = state.withRoot(Map.of(), root);
      } finally {
        phase.writeLock().unlock();
      }
      doubtful.clear(); // this commit moved the head: a doubtful one can never apply
      commitInDoubt = false;
      dirtyBytes.addAndGet(-inMemory * blockSize);
    }
  }

  /**
   * After a commit found the head moved while commits of ours were in doubt: if the head is
   * exactly one of them (etcd applied it after our read-back; only the lock holder writes the
   * head, and the lock is still ours), continues from it. The buffered changes, the doubtful
   * commit's own ones included, are then committed on top of it by the next attempt, so the
   * order of writes is kept. Returns false if the head is anything else.
   */
  private boolean adoptDoubtfulHead() {
    Head now;
    try {
      now = meta.head(info.id());
    } catch (RuntimeException e) {
      return false;
    }
    if (!doubtful.contains(new Doubt(now.root(), now.generation()))) {
      return false;
    }
    head = now;
    phase.writeLock().lock();
    try {
      state = state.withRoot(state.frozen, now.root());
    } finally {
      phase.writeLock().unlock();
    }
    doubtful.clear();
    // commitInDoubt stays set: the adopted head references early-written blocks the dirty
    // map holds too, so none may be deleted as superseded before the next commit replaces it
    log.warn("volume '{}': the head commit of generation {} whose outcome was unknown was "
        + "applied after all; going on from it", info.name(), now.generation());
    return true;
  }

  /** A head commit of this handle whose outcome is unknown. */
  private record Doubt(BlockRef root, long generation) {}

  /** Commits in doubt since the last one known to have applied; guarded by flushLock. */
  private final List<Doubt> doubtful = new ArrayList<>();

  /** Writes the frozen blocks and the changed map nodes, then swaps the head. */
  private BlockRef commit(Map<Long, Entry> frozen, Generation g) {
    NavigableMap<Long, BlockRef> changes = new TreeMap<>();
    List<CompletableFuture<Void>> writes = new ArrayList<>();
    for (Map.Entry<Long, Entry> me : frozen.entrySet()) {
      Entry e = me.getValue();
      if (e instanceof Entry.Mem) {
        BlockRef ref = g.next(BlockKind.DATA);
        changes.put(me.getKey(), ref);
        byte[] data = ((Entry.Mem) e).data;
        writes.add(CompletableFuture.runAsync(() -> putBlock(ref, ByteBuffer.wrap(data)),
            ioPool));
      } else {
        changes.put(me.getKey(), e == Entry.HOLE ? null : ((Entry.Stored) e).ref);
      }
    }
    joinAll(writes);
    long blocks = (size + blockSize - 1) >>> shift;
    BlockRef root = BlockMap.apply(this::loadNode, node -> {
      BlockRef ref = g.next(BlockKind.MAP);
      ByteBuffer bytes = node.encode();
      CRC32C crc = new CRC32C();
      crc.update(bytes.duplicate());
      layer.put(ref, bytes, (int) crc.getValue());
      cache.putNode(ref, node);
      return ref;
    }, head.root(), blocks, changes);
    layer.flush();
    head = commitHead(root, g.number);
    return root;
  }

  private Head commitHead(BlockRef root, long generation) {
    try {
      return meta.commitHead(lock, head, root, generation);
    } catch (LeaseLostException | ConcurrentUpdateException e) {
      if (!(e instanceof ConcurrentUpdateException && !doubtful.isEmpty())) {
        fence(e); // a moved head while in doubt is looked at by flushOnce first
      }
      throw e;
    } catch (TorusException e) {
      // The outcome is unknown (e.g. a timeout): read the head back to learn it.
      Head now;
      try {
        now = meta.head(info.id());
      } catch (RuntimeException again) {
        // Whether the head moved is unknown: the buffered blocks may or may not be committed,
        // so this handle cannot safely go on. Fence it; reopening reads the truth.
        e.addSuppressed(again);
        fence(e);
        throw e;
      }
      if (now.generation() == generation && Objects.equals(now.root(), root)) {
        return now;
      }
      // Not applied yet, but it may still be (etcd can apply a request after its client timed
      // out). Its blocks must outlive the doubt: see commitInDoubt. A later commit succeeds
      // only if the head is still the one read here, which also settles the doubt.
      commitInDoubt = true;
      doubtful.add(new Doubt(root, generation));
      log.warn("volume '{}': head commit of generation {} failed with an unknown outcome "
          + "({}); keeping every block it may reference until a later commit", info.name(),
          generation, e.toString());
      throw e;
    }
  }

  /** Puts a failed flush's blocks back under the newer dirty ones. */
  private void restore(Map<Long, Entry> frozen) {
    phase.writeLock().lock();
    try {
      State s = state;
      long shadowed = 0;
      for (Map.Entry<Long, Entry> me : frozen.entrySet()) {
        Entry prior = s.dirty.putIfAbsent(me.getKey(), me.getValue());
        if (prior != null && me.getValue() instanceof Entry.Mem) {
          shadowed++;
        } else if (prior == null && me.getValue() instanceof Entry.Mem) {
          s.enqueue(me.getKey());
        }
      }
      state = s.withRoot(Map.of(), s.root);
      dirtyBytes.addAndGet(-shadowed * blockSize);
    } finally {
      phase.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------- close

  @Override
  public void close() {
    phase.writeLock().lock();
    try {
      if (closing) {
        return;
      }
      closing = true; // no write starts after this; the ones running have finished
    } finally {
      phase.writeLock().unlock();
    }
    try {
      if (lock != null && fenced == null) {
        flushBlocking();
      }
    } finally {
      phase.writeLock().lock();
      try {
        closed = true;
      } finally {
        phase.writeLock().unlock();
      }
      try {
        if (lock != null) {
          meta.unlock(lock);
        }
      } finally {
        metrics.close();
        onClose.run();
      }
    }
  }
}
