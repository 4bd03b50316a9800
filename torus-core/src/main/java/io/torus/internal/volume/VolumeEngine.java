package io.torus.internal.volume;

// Over 600 lines because it is the whole BlockVolume face: every asynchronous and blocking
// twin of the API with its checks, timing, inline attempt and QoS wait; the work itself is
// in DirtyBuffer, Committer, ReadPath, BlockIo and QosGate.

import io.torus.BlockVolume;
import io.torus.Extent;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An open volume: the write buffer, read path and flush (commit) of one volume on one node.
 * This class is the {@link BlockVolume} face: it checks arguments, times operations, splits
 * them into blocks and wires the parts that do the work.
 *
 * <ul>
 *   <li>{@link DirtyBuffer}: the uncommitted changes (dirty, frozen, root; the write-out
 *       queue and early write-out), the phase lock and the state swaps of a flush;
 *   <li>{@link Committer}: the flush and commit protocol, generation reservation and the
 *       commits in doubt ({@link CommitDoubt});
 *   <li>{@link ReadPath}: reads of one state snapshot through the block map;
 *   <li>{@link Lifecycle}: open, closing, closed and fenced, and the checks built on them;
 *   <li>{@link BlockIo} and {@link Stripes}: block traffic through the cache, per-block locks;
 *   <li>{@link QosGate}: the volume's I/O limits. A request over them waits before it starts
 *       (an asynchronous one on the node's scheduler, holding no thread; a blocking one on
 *       its caller's thread); it is never refused for them.
 * </ul>
 *
 * <p><b>State.</b> Three layers, newest first: {@code dirty} (blocks changed since the last
 * flush started), {@code frozen} (the blocks a running flush is committing; immutable) and
 * {@code root} (the committed block map), held in one volatile {@link VolumeState}. A read
 * takes one snapshot of the state and looks a block up in that order, so it always sees a
 * consistent picture, before, during or after a flush.
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
 * the buffer's phase lock; a flush takes the write side only for the instants it swaps the
 * state, so a write either lands before the freeze (and is committed by that flush) or after
 * it. Flushes are serialised by the committer's flush lock; a flush covers every write
 * completed before it was called. Close marks the handle closing under the write side, so no
 * write runs after it. This class itself holds only {@code size} (volatile, grows only).
 *
 * <p><b>Failure.</b> A flush that fails before its commit puts its frozen blocks back under
 * the newer dirty ones: nothing is lost and the flush reports the error. A refused commit
 * (lease lost, head changed) fences the volume: every later write and flush fails.
 */
public final class VolumeEngine implements BlockVolume {
  /**
   * Largest read or write tried on the caller's thread first ({@link #readAsync},
   * {@link #writeAsync}): larger ones run on the executor, so that one connection's big
   * requests still use more than one core.
   */
  static final int INLINE_MAX = 128 * 1024;
  static final boolean INLINE = !Boolean.getBoolean("torus.volume.noInline");
  /** Blocks a discard handles at a time. */
  private static final long DISCARD_WINDOW = 1 << 16;

  private final VolumeInfo info;
  private final int blockSize;
  private final int shift;
  private final MetadataService meta;
  private final VolumeLock lock;
  private final Executor executor;
  private final Runnable onClose;
  private final VolumeMetrics metrics;
  private final Lifecycle lifecycle;
  private final BlockIo io;
  private final ReadPath reader;
  private final DirtyBuffer buffer;
  private final Committer committer;
  private final QosGate qos;

  private volatile long size;

  /**
   * @param lock the writer lock, or null for a read-only handle
   * @param head the head to start from (for a writer: the head in {@code lock})
   * @param executor completes user futures
   * @param ioPool runs parallel block writes of flushes; never blocks on volume locks
   * @param metrics where to count this handle's operations
   * @param qos the handle's I/O limits (see {@link QosGate})
   */
  public VolumeEngine(VolumeInfo info, BlockLayer layer, BlockCache cache,
      MetadataService meta, VolumeLock lock, Head head, Executor executor, Executor ioPool,
      long dirtyLimit, VolumeMetrics metrics, QosGate qos, Runnable onClose) {
    this.info = info;
    this.blockSize = info.blockSize();
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.meta = meta;
    this.lock = lock;
    this.executor = executor;
    this.onClose = onClose;
    this.metrics = metrics;
    this.qos = qos;
    this.size = info.size();
    this.lifecycle = new Lifecycle(info.name(), lock == null);
    this.io = new BlockIo(layer, cache, info.name(), blockSize);
    Stripes stripes = new Stripes();
    CommitDoubt doubt = new CommitDoubt();
    this.reader = new ReadPath(io, stripes, blockSize);
    this.buffer = new DirtyBuffer(new Generation(info.id(), head.generation() + 1,
        dataShards(info), parityShards(info)), head, blockSize, dirtyLimit, lifecycle, stripes,
        reader, io, doubt, ioPool);
    JournalWriter journal = new JournalWriter(info.id(), info.name(),
        layer.journal().orElse(null), meta, lock, info.replication(), System::nanoTime);
    this.committer = new Committer(info.id(), info.name(), blockSize, meta, lock, head, buffer,
        reader, lifecycle, io, doubt, journal, metrics, System::nanoTime, ioPool, this::size);
  }

  /** k of the volume's stripes, 0 for a replicated volume. */
  private static int dataShards(VolumeInfo info) {
    return info.erasure() == null ? 0 : info.erasure().dataShards();
  }

  /** m of the volume's stripes, 0 for a replicated volume. */
  private static int parityShards(VolumeInfo info) {
    return info.erasure() == null ? 0 : info.erasure().parityShards();
  }

  /**
   * Makes a new writer handle ready: replays the flush journal an earlier writer may have
   * left (see {@link Committer#open}). On failure the handle is closed (its lock released)
   * and the error thrown; the volume is unchanged.
   */
  public VolumeEngine start() {
    if (lock == null) {
      return this;
    }
    try {
      committer.open();
      return this;
    } catch (RuntimeException e) {
      TorusException t = TorusException.of(e);
      lifecycle.fence(t);
      close();
      throw t;
    }
  }

  /**
   * For a timer: commits the flush journal into the head if this writer has not done so for
   * {@link Committer#CHECKPOINT_NANOS} and is not flushing (see
   * {@link Committer#commitJournaledIfIdle}). Never throws; a no-op for a read-only handle.
   */
  public void commitHeadIfIdle() {
    if (lock != null && !lifecycle.isClosed()) {
      committer.commitJournaledIfIdle();
    }
  }

  /**
   * Sets the changes of the flush journal above a read-only handle's head (see
   * {@link JournalWriter#read}), before the handle is used.
   */
  public VolumeEngine withJournaled(java.util.NavigableMap<Long, BlockRef> changes) {
    if (lock != null) {
      throw new IllegalStateException("a writer replays its journal itself");
    }
    buffer.replay(changes);
    return this;
  }

  /**
   * Commits what flushes put in the flush journal into the volume's head, where snapshots
   * and other nodes read it (without this, the head follows within
   * {@link Committer#CHECKPOINT_NANOS} of flushing); writes not yet flushed stay buffered. A
   * no-op for a read-only handle.
   */
  public void commitHead() {
    checkOpen();
    if (lock != null) {
      inline(committer::commitJournaled);
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
    return buffer.state().root;
  }

  /** The I/O limits this handle applies now. */
  public io.torus.VolumeQos qos() {
    return qos.qos();
  }

  /** Applies {@code limits} from the next request on (see {@link QosGate#set}). */
  public void setQos(io.torus.VolumeQos limits) {
    qos.set(limits);
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
    lifecycle.fence(cause);
  }

  // ---------------------------------------------------------------- async API

  private <T> CompletableFuture<T> async(Supplier<T> op) {
    if (lifecycle.isClosed()) {
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

  /**
   * {@code op} on the executor once a QoS wait of {@code waitNanos} is over (see
   * {@link QosGate#after}): the wait holds no thread.
   */
  private CompletableFuture<Void> afterWait(long waitNanos, Runnable op) {
    return qos.after(waitNanos, () -> async(() -> {
      op.run();
      return null;
    }), this::closedError);
  }

  @Override
  public CompletableFuture<Void> readAsync(long offset, ByteBuffer dst) {
    try {
      checkRange(offset, dst.remaining());
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    long wait = lifecycle.isClosed() ? 0 : qos.read(dst.remaining());
    if (wait > 0) {
      return afterWait(wait, () -> readBlocking(offset, dst));
    }
    if (INLINE && dst.remaining() <= INLINE_MAX && !lifecycle.isClosed()) {
      CompletableFuture<Void> now = attempt(metrics.read, () -> reader.readNow(buffer.state(),
          offset, dst), dst.remaining(), metrics.readBytes);
      if (now != null) {
        return now;
      }
    }
    return async(() -> {
      readBlocking(offset, dst);
      return null;
    });
  }

  /**
   * Runs a no-wait attempt on the caller's thread: a completed future if it did the
   * operation (or failed it), null if it would have had to wait (nothing is done then).
   */
  private CompletableFuture<Void> attempt(io.micrometer.core.instrument.Timer timer,
      java.util.function.BooleanSupplier op, int bytes,
      io.micrometer.core.instrument.Counter counter) {
    long start = System.nanoTime();
    try {
      if (!op.getAsBoolean()) {
        return null;
      }
    } catch (RuntimeException e) {
      metrics.error(timer);
      timer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return CompletableFuture.failedFuture(TorusException.of(e));
    }
    timer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    counter.increment(bytes);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> writeAsync(long offset, ByteBuffer src) {
    try {
      checkWritable();
      checkRange(offset, src.remaining());
    } catch (TorusException e) {
      return CompletableFuture.failedFuture(e);
    }
    int n = src.remaining();
    long wait = qos.write(n);
    if (wait > 0) {
      return afterWait(wait, () -> writeBlocking(offset, src));
    }
    if (INLINE && n <= INLINE_MAX && buffer.roomFor(n)) {
      CompletableFuture<Void> now = attempt(metrics.write, () -> writeNow(offset, src), n,
          metrics.writeBytes);
      if (now != null) {
        return now;
      }
    }
    return async(() -> {
      writeBlocking(offset, src);
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> flushAsync() {
    if (lock == null) {
      return lifecycle.isClosed() ? CompletableFuture.failedFuture(closedError())
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
    long wait = qos.write(0);
    if (wait > 0) {
      return afterWait(wait, () -> discardBlocking(offset, length));
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
      VolumeState s = buffer.state();
      return Extents.of(io::node, s.root, s.journaled, s.frozen, s.dirty, offset, length,
          shift);
    });
  }

  // ---------------------------------------------------------------- blocking API
  // The blocking twins run in the caller's thread: no hand-off to the executor.

  @Override
  public void read(long offset, ByteBuffer dst) {
    checkOpen();
    checkRange(offset, dst.remaining());
    if (QosGate.sleep(qos.read(dst.remaining()))) {
      checkOpen(); // it may have closed meanwhile
    }
    inline(() -> readBlocking(offset, dst));
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    checkWritable();
    checkRange(offset, src.remaining());
    if (QosGate.sleep(qos.write(src.remaining()))) {
      checkWritable();
    }
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
    if (QosGate.sleep(qos.write(0))) {
      checkWritable();
    }
    inline(() -> discardBlocking(offset, length));
  }

  private static void inline(Runnable op) {
    try {
      op.run();
    } catch (RuntimeException e) {
      throw TorusException.of(e);
    }
  }

  // ---------------------------------------------------------------- checks

  private void checkOpen() {
    lifecycle.checkOpen();
  }

  private void checkWritable() {
    lifecycle.checkWritable();
  }

  private TorusClosedException closedError() {
    return lifecycle.closedError();
  }

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

  private void timed(io.micrometer.core.instrument.Timer timer, Runnable op) {
    long start = System.nanoTime();
    try {
      op.run();
    } catch (RuntimeException e) {
      metrics.error(timer);
      throw e;
    } finally {
      timer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
  }

  /** Entries in the write-out queue (for tests: it stays proportional to dirty blocks). */
  int queuedForWriteOut() {
    return buffer.queuedForWriteOut();
  }

  // ---------------------------------------------------------------- read path

  private void readBlocking(long offset, ByteBuffer dst) {
    int n = dst.remaining();
    timed(metrics.read, () -> reader.read(buffer.state(), offset, dst));
    metrics.readBytes.increment(n);
  }

  // ---------------------------------------------------------------- write path

  private void writeBlocking(long offset, ByteBuffer src) {
    int n = src.remaining();
    timed(metrics.write, () -> writeBlocks(offset, src));
    metrics.writeBytes.increment(n);
  }

  private void writeBlocks(long offset, ByteBuffer src) {
    eachBlock(offset, src, buffer::write);
    buffer.bound();
    committer.commitEarlyIfFull();
  }

  /** Writes one block's part of a write: {@code n} bytes of {@code src} at {@code inBlock}. */
  private interface BlockWrite {
    void write(long index, int inBlock, int n, ByteBuffer src);
  }

  /** Splits a write at {@code offset} into its blocks, in order. */
  private void eachBlock(long offset, ByteBuffer src, BlockWrite w) {
    long off = offset;
    while (src.hasRemaining()) {
      long index = off >>> shift;
      int inBlock = (int) (off & (blockSize - 1));
      int n = Math.min(blockSize - inBlock, src.remaining());
      w.write(index, inBlock, n, src);
      off += n;
    }
  }

  /**
   * The blocks of a write on the caller's thread if none needs waiting; else false with
   * {@code src} as it was (blocks already copied are copied again by the retry: the same
   * bytes to the same place).
   */
  private boolean writeNow(long offset, ByteBuffer src) {
    int start = src.position();
    try {
      eachBlock(offset, src, buffer::writeNow);
    } catch (WouldBlock e) {
      src.position(start);
      return false;
    }
    buffer.boundNow();
    return true;
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
      buffer.discard(lo, Math.min(endWhole, lo + DISCARD_WINDOW));
      committer.commitEarlyIfFull();
    }
  }

  private void zeroPartial(long from, long to) {
    if (to > from) {
      writeBlocks(from, ByteBuffer.allocate((int) (to - from)));
    }
  }

  // ---------------------------------------------------------------- flush

  private void flushBlocking() {
    timed(metrics.flush, committer::flush);
  }

  // ---------------------------------------------------------------- close

  @Override
  public void close() {
    // no write starts after this; the ones running have finished
    if (!buffer.exclusive(lifecycle::startClosing)) {
      return;
    }
    try {
      if (lock != null && lifecycle.fenced() == null) {
        timed(metrics.flush, committer::commitAll);
      }
    } finally {
      buffer.exclusive(() -> {
        lifecycle.markClosed();
        return null;
      });
      try {
        if (lock != null) {
          meta.unlock(lock);
        }
      } finally {
        qos.close(closedError());
        metrics.close();
        onClose.run();
      }
    }
  }
}
