package io.torus.internal.volume;

import io.torus.TorusException;
import io.torus.internal.storage.RateLimitedLog;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The early write-out of a {@link DirtyBuffer}: writes in-memory dirty blocks out to the block
 * layer as blocks of the pending generation, so that memory stays bounded however much is
 * written. See {@link #writeOutUntil} for how a block is sealed, put with no lock held and
 * settled.
 *
 * <p><b>Concurrency.</b> {@code evictLock} lets one write-out run at a time; {@code background}
 * says whether a background one is queued or running. A write-out holds the buffer's phase
 * lock's read side while it works on one state, and each block's stripe lock only to seal and
 * settle it.
 */
final class WriteOut {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);
  private static final RateLimitedLog warnings = RateLimitedLog.perSecond(log);

  private final DirtyBuffer buffer;
  private final ReentrantReadWriteLock phase;
  private final Lifecycle lifecycle;
  private final Stripes stripes;
  private final ReadPath reader;
  private final BlockIo io;
  private final Superseded superseded;
  private final Executor ioPool;
  private final AtomicLong dirtyBytes;
  private final long dirtyLimit;
  private final int blockSize;
  /** Blocks one write-out has in flight at most: 4 MiB, at least 64 blocks. */
  private final int writeOutWindow;
  private final ReentrantLock evictLock = new ReentrantLock();
  /** Whether a background write-out is queued or running. */
  private final AtomicBoolean background = new AtomicBoolean();

  WriteOut(DirtyBuffer buffer, ReentrantReadWriteLock phase, Lifecycle lifecycle,
      Stripes stripes, ReadPath reader, BlockIo io, Superseded superseded, Executor ioPool,
      AtomicLong dirtyBytes, long dirtyLimit, int blockSize) {
    this.buffer = buffer;
    this.phase = phase;
    this.lifecycle = lifecycle;
    this.stripes = stripes;
    this.reader = reader;
    this.io = io;
    this.superseded = superseded;
    this.ioPool = ioPool;
    this.dirtyBytes = dirtyBytes;
    this.dirtyLimit = dirtyLimit;
    this.blockSize = blockSize;
    this.writeOutWindow = Math.max(64, (4 << 20) / blockSize);
  }

  /**
   * Bounds memory: writes in-memory dirty blocks out as blocks of the pending generation
   * until the buffer is below three quarters of its limit. One write-out runs at a time;
   * other writers wait for it (backpressure).
   */
  void writeOutEarly() {
    if (!evictLock.tryLock()) {
      evictLock.lock(); // wait for the running write-out, then let the writer go on
      evictLock.unlock();
      return;
    }
    try {
      writeOutUntil(dirtyLimit * 3 / 4, ioPool);
    } finally {
      evictLock.unlock();
    }
  }

  /**
   * Starts, on the I/O pool, a write-out down to a quarter of the limit, unless one is queued
   * or running. A failure leaves the blocks in memory (a later write-out or the flush retries
   * them and reports it) and is logged at WARN, rate-limited.
   */
  void startBackground() {
    if (!background.compareAndSet(false, true)) {
      return;
    }
    try {
      ioPool.execute(this::backgroundWriteOut);
    } catch (RuntimeException rejected) { // the pool shut down: writers write out themselves
      background.set(false);
    }
  }

  private void backgroundWriteOut() {
    try {
      if (evictLock.tryLock()) {
        try {
          // on the I/O pool itself: local puts run here, one after another, since waiting
          // for tasks of the pool from one of its threads can take every thread of it
          writeOutUntil(dirtyLimit / 4, Runnable::run);
        } finally {
          evictLock.unlock();
        }
      }
    } catch (RuntimeException e) {
      if (lifecycle.fenced() == null && !lifecycle.isClosing()) {
        warnings.warn("write-out " + lifecycle.volume(), "volume '{}': background write-out"
            + " failed, the blocks stay in memory and the next flush retries them",
            lifecycle.volume(), e);
      }
    } finally {
      background.set(false);
    }
  }

  /**
   * Writes in-memory dirty blocks out, a window of {@link #writeOutWindow} blocks in flight at
   * a time, oldest first, until at most {@code target} bytes are in memory. Each block is
   * sealed under its stripe lock and put with no lock held (writers copy a sealed block,
   * readers read it); then, under the lock again, it is replaced by its stored ref, or, if a
   * write or discard replaced it meanwhile, the block just put is deleted (superseded). A
   * failed put unseals its block and queues it again; the first failure is thrown. The phase
   * lock's read side is held throughout, so the state stays the current one.
   *
   * @param localPuts where puts to local stores run (a replicated layer's puts are async)
   */
  private void writeOutUntil(long target, Executor localPuts) {
    while (dirtyBytes.get() > target) {
      phase.readLock().lock();
      try {
        lifecycle.checkWritable();
        VolumeState s = buffer.state();
        Generation g = buffer.pending();
        List<Long> indexes = new ArrayList<>();
        List<Entry.Mem> sealed = new ArrayList<>();
        List<Long> partial = new ArrayList<>();
        for (Long index = s.poll(); index != null; index = s.poll()) {
          Entry.Mem m = seal(s, index);
          if (m != null) {
            indexes.add(index);
            sealed.add(m);
            if (m.written != null) {
              partial.add(index);
            }
            if (indexes.size() == writeOutWindow) {
              break;
            }
          }
        }
        int keep = wholeStripes(indexes.size(), g.stripeBlocks());
        for (int i = indexes.size() - 1; i >= keep; i--) {
          settle(s, indexes.get(i), sealed.get(i), null, false); // back in the queue
          partial.remove(indexes.get(i));
          indexes.remove(i);
          sealed.remove(i);
        }
        if (indexes.isEmpty()) {
          return;
        }
        List<BlockIo.Put> puts;
        try {
          puts = wholeBlocks(s, g, indexes, sealed, partial);
        } catch (RuntimeException e) {
          for (int i = 0; i < indexes.size(); i++) {
            settle(s, indexes.get(i), sealed.get(i), null, false);
          }
          throw e;
        }
        List<CompletableFuture<Void>> writes = io.startPuts(puts, localPuts);
        RuntimeException first = null;
        for (int i = 0; i < writes.size(); i++) {
          RuntimeException failed = null;
          try {
            writes.get(i).join();
          } catch (RuntimeException e) {
            failed = e;
            first = first == null ? e : first;
          }
          settle(s, indexes.get(i), sealed.get(i), puts.get(i).ref(), failed == null);
        }
        if (first != null) {
          throw TorusException.of(first);
        }
      } finally {
        phase.readLock().unlock();
      }
    }
  }

  /**
   * How many of {@code n} sealed blocks a write-out puts: whole stripes of an erasure-coded
   * volume ({@code k} blocks each), so that its parity costs m/k of the data and not more;
   * the rest waits in memory for the next write-out or the flush. Fewer than {@code k} are
   * written out only when memory is past its limit (the stripe is then partial).
   */
  private int wholeStripes(int n, int k) {
    if (k == 1 || n % k == 0) {
      return n;
    }
    int whole = n - n % k;
    return whole > 0 || dirtyBytes.get() <= dirtyLimit ? whole : n;
  }

  /**
   * The puts of a write-out batch: a partial block (only some sectors written) is merged
   * over its committed content first, the committed blocks of all of them fetched together.
   * Sealed blocks do not change, so reading them here needs no lock.
   */
  private List<BlockIo.Put> wholeBlocks(VolumeState s, Generation g, List<Long> indexes,
      List<Entry.Mem> sealed, List<Long> partial) {
    Map<BlockRef, ByteBuffer> fetched = partial.isEmpty() ? Map.of()
        : reader.fetchRootsOf(s.root, partial);
    List<BlockIo.Put> puts = new ArrayList<>(indexes.size());
    List<BlockRef> refs = g.nextData(indexes.size());
    for (int i = 0; i < indexes.size(); i++) {
      Entry.Mem m = sealed.get(i);
      byte[] data = m.written == null ? m.data
          : m.over(reader.belowDirty(s, indexes.get(i), false, fetched));
      puts.add(new BlockIo.Put(refs.get(i), data));
    }
    return puts;
  }

  /** Seals block {@code index} for a write-out if it is an unsealed in-memory block. */
  private Entry.Mem seal(VolumeState s, long index) {
    ReentrantLock l = stripes.of(index);
    l.lock();
    try {
      Entry e = s.dirty.get(index);
      if (!(e instanceof Entry.Mem) || ((Entry.Mem) e).sealed) {
        return null;
      }
      Entry.Mem m = (Entry.Mem) e;
      m.sealed = true;
      return m;
    } finally {
      l.unlock();
    }
  }

  /** Ends the write-out of a sealed block: see {@link #writeOutUntil}. */
  private void settle(VolumeState s, long index, Entry.Mem m, BlockRef ref, boolean stored) {
    ReentrantLock l = stripes.of(index);
    l.lock();
    try {
      boolean current = s.dirty.get(index) == m;
      if (!stored) {
        if (current) {
          m.sealed = false;
          s.enqueue(index); // still in memory: a later write-out or the flush retries
        }
      } else if (current) {
        s.dirty.put(index, new Entry.Stored(ref));
        dirtyBytes.addAndGet(-blockSize);
      } else {
        superseded.add(ref);
      }
    } finally {
      l.unlock();
    }
  }
}
