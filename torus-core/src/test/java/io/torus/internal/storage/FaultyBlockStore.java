package io.torus.internal.storage;

import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link MemoryBlockStore} whose flush blocks or fails on command, and which counts the
 * flushes that began and that succeeded. Puts can be made to fail too.
 */
public final class FaultyBlockStore extends ForwardingBlockStore {
  private final AtomicInteger flushesStarted = new AtomicInteger();
  private final AtomicInteger flushesDone = new AtomicInteger();
  private volatile CountDownLatch gate;
  private volatile CountDownLatch entered = new CountDownLatch(1);
  private volatile int failFlushes;
  private volatile TorusException failPuts;
  private volatile long putDelayMillis;
  private final AtomicInteger gets = new AtomicInteger();
  private final Set<BlockRef> corrupt = ConcurrentHashMap.newKeySet();

  public FaultyBlockStore(String name) {
    super(name, 1L << 30);
  }

  /** The next flushes wait in {@link #flush} until {@link #release()}. */
  public synchronized void holdFlushes() {
    gate = new CountDownLatch(1);
    entered = new CountDownLatch(1);
  }

  /** Lets held flushes go on. */
  public void release() {
    CountDownLatch g = gate;
    gate = null;
    if (g != null) {
      g.countDown();
    }
  }

  /** Waits until a held flush has begun. */
  public boolean awaitFlushEntered(long millis) throws InterruptedException {
    return entered.await(millis, TimeUnit.MILLISECONDS);
  }

  /** The next {@code n} flushes throw EIO (after waiting at the gate, if held). */
  public void failNextFlushes(int n) {
    failFlushes = n;
  }

  /** Puts throw {@code e} (null: puts work again). */
  public void failPuts(TorusException e) {
    failPuts = e;
  }

  /** Gets of {@code ref} fail their checksum from now on (the ref stays in the index). */
  public void corrupt(BlockRef ref) {
    corrupt.add(ref);
  }

  /** Every put sleeps this long first (a slow disk). */
  public void putDelay(long millis) {
    putDelayMillis = millis;
  }

  /** Gets served so far. */
  public int gets() {
    return gets.get();
  }

  public int flushesStarted() {
    return flushesStarted.get();
  }

  public int flushesDone() {
    return flushesDone.get();
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    TorusException e = failPuts;
    if (e != null) {
      throw e;
    }
    if (putDelayMillis > 0) {
      try {
        Thread.sleep(putDelayMillis);
      } catch (InterruptedException x) {
        Thread.currentThread().interrupt();
      }
    }
    inner.put(ref, data, crc32c);
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    gets.incrementAndGet();
    if (corrupt.contains(ref) && inner.contains(ref)) {
      throw new io.torus.CorruptBlockException("block " + ref + " in " + name()
          + " failed its checksum (injected)");
    }
    return inner.get(ref);
  }

  @Override
  public void flush() {
    flushesStarted.incrementAndGet();
    CountDownLatch g = gate;
    entered.countDown();
    if (g != null) {
      try {
        if (!g.await(10, TimeUnit.SECONDS)) {
          throw new TorusException(ErrorCode.EIO, "held flush was never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(ErrorCode.EIO, "interrupted", e);
      }
    }
    synchronized (this) {
      if (failFlushes > 0) {
        failFlushes--;
        throw new TorusException(ErrorCode.EIO, "injected fsync failure of " + name());
      }
    }
    inner.flush();
    flushesDone.incrementAndGet();
  }

  @Override
  public void close() {
    release();
    inner.close();
  }
}
