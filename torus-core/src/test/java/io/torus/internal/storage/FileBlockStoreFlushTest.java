package io.torus.internal.storage;

import static io.torus.internal.storage.TestBlocks.bytes;
import static io.torus.internal.storage.TestBlocks.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flush barrier of {@link FileBlockStore} under concurrency: a flush returns only after
 * forces that began after every put it must cover, and once a force failed no flush succeeds.
 */
class FileBlockStoreFlushTest {
  @TempDir Path dir;
  private final List<FileBlockStore> opened = new ArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void closeAll() {
    pool.shutdownNow();
    for (FileBlockStore s : opened) {
      try {
        s.close();
      } catch (TorusException ignored) {
        // failed on purpose
      }
    }
  }

  private FileBlockStore open() {
    FileBlockStore s = FileStoreOpener.open(dir, 16L << 20, 2, 1_000_000);
    opened.add(s);
    return s;
  }

  private static BlockRef ref(int thread, int seq) {
    return new BlockRef(4, 1 + thread, seq, BlockKind.DATA);
  }

  private static void put(FileBlockStore s, BlockRef r, byte[] b) {
    s.put(r, ByteBuffer.wrap(b), crc(b));
  }

  private static boolean isLog(Path file) {
    return file.getFileName().toString().equals(FileStoreOpener.INDEX);
  }

  /** Blocks the first index log force until released, then fails it. */
  private static final class FailFirstLogForce implements ForceHook {
    final CountDownLatch forcing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger forcesAfterFailure = new AtomicInteger();
    volatile boolean failed;

    @Override
    public void before(Path file) throws IOException {
      if (failed) {
        forcesAfterFailure.incrementAndGet();
        return;
      }
      if (isLog(file)) {
        forcing.countDown();
        try {
          release.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        failed = true;
        throw new IOException("injected fsync failure");
      }
    }
  }

  @Test
  void flushWaitingBehindAFailedForceFailsTooAndForcesNothing() throws Exception {
    FileBlockStore s = open();
    put(s, ref(0, 0), bytes(100, 0));
    s.flush();
    FailFirstLogForce hook = new FailFirstLogForce();
    s.forceHook(hook);
    put(s, ref(0, 1), bytes(100, 1));
    Future<?> first = pool.submit(s::flush);
    assertThat(hook.forcing.await(10, TimeUnit.SECONDS)).isTrue();
    put(s, ref(0, 2), bytes(100, 2));
    Thread[] waiter = new Thread[1];
    Future<?> second = pool.submit(() -> {
      waiter[0] = Thread.currentThread();
      s.flush();
      return null;
    });
    for (int i = 0; i < 1000 && (waiter[0] == null
        || waiter[0].getState() != Thread.State.WAITING); i++) {
      Thread.sleep(5); // until the second flush waits for the first
    }
    assertThat(waiter[0].getState()).isEqualTo(Thread.State.WAITING);
    hook.release.countDown();
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS))
        .hasRootCauseMessage("injected fsync failure");
    assertThatThrownBy(() -> second.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(TorusException.class)
        .hasMessageContaining("failed flush");
    s.forceHook(ForceHook.NONE); // the device "recovered": still no flush may succeed
    assertThatThrownBy(s::flush).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    assertThat(hook.forcesAfterFailure).hasValue(0);
    s.close();
    FileBlockStore again = open();
    assertThat(again.contains(ref(0, 0))).isTrue();
  }

  /** A put: tickets taken just before it began and just after it returned. */
  private record Op(long begin, long end) {}

  /** A flush call: tickets before the call and after it returned; whether it succeeded. */
  private record Flush(long begin, long end, boolean ok) {}

  /** A completed flush round: ticket when its first data force began, when the log's ended. */
  private record Round(long dataBegin, long logEnd) {}

  @Test
  void concurrentFlushesCoverEveryEarlierPutAndStopAtTheFirstFailedForce() throws Exception {
    FileBlockStore s = open();
    AtomicLong clock = new AtomicLong();
    Queue<Op> puts = new ConcurrentLinkedQueue<>();
    Queue<Flush> flushes = new ConcurrentLinkedQueue<>();
    Queue<Round> rounds = new ConcurrentLinkedQueue<>();
    AtomicLong failedAt = new AtomicLong(Long.MAX_VALUE);
    AtomicInteger logForces = new AtomicInteger();
    AtomicLong forceAfterFailure = new AtomicLong(-1);
    s.forceHook(new ForceHook() {
      long dataBegin = -1; // forces are serialized by the store's flush lock

      @Override
      public void before(Path file) throws IOException {
        long t = clock.incrementAndGet();
        if (failedAt.get() != Long.MAX_VALUE) {
          forceAfterFailure.compareAndSet(-1, t);
        }
        if (!isLog(file)) {
          dataBegin = dataBegin < 0 ? t : dataBegin;
        } else if (logForces.incrementAndGet() == 60) {
          failedAt.set(t);
          throw new IOException("injected fsync failure");
        }
      }

      @Override
      public void after(Path file) {
        if (isLog(file)) {
          rounds.add(new Round(dataBegin, clock.incrementAndGet()));
          dataBegin = -1;
        }
      }
    });
    List<Future<?>> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int tid = t;
      threads.add(pool.submit(() -> {
        for (int i = 0; i < 400; i++) {
          long begin = clock.incrementAndGet();
          try {
            put(s, ref(tid, i), bytes(50 + i, i));
          } catch (TorusException e) {
            break; // refused after the failure
          }
          puts.add(new Op(begin, clock.incrementAndGet()));
          if (i % 3 == tid % 3) {
            long fb = clock.incrementAndGet();
            boolean ok;
            try {
              s.flush();
              ok = true;
            } catch (TorusException e) {
              ok = false;
            }
            flushes.add(new Flush(fb, clock.incrementAndGet(), ok));
          }
        }
        return null;
      }));
    }
    for (Future<?> f : threads) {
      f.get(60, TimeUnit.SECONDS);
    }
    assertThat(failedAt.get()).as("the fault fired").isNotEqualTo(Long.MAX_VALUE);
    assertThat(forceAfterFailure).as("force after the failure").hasValue(-1);
    for (Flush f : flushes) {
      if (f.begin() > failedAt.get()) {
        assertThat(f.ok()).as("flush after the failure: %s", f).isFalse();
      }
      if (!f.ok()) {
        continue;
      }
      long latestBegin = puts.stream().filter(p -> p.end() < f.begin())
          .mapToLong(Op::begin).max().orElse(0);
      assertThat(rounds).as("a round covering the puts before %s", f)
          .anyMatch(r -> r.dataBegin() > latestBegin && r.logEnd() < f.end());
    }
    assertThat(flushes).anyMatch(Flush::ok).anyMatch(f -> !f.ok());
    s.forceHook(ForceHook.NONE);
    assertThatThrownBy(s::flush).isInstanceOf(TorusException.class);
  }

  /** Blocks the first force of {@code file} (data or log) until released; counts forces. */
  private static final class HoldFirstForce implements ForceHook {
    final boolean log;
    final CountDownLatch forcing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger logForces = new AtomicInteger();
    final AtomicInteger dataForces = new AtomicInteger();

    HoldFirstForce(boolean log) {
      this.log = log;
    }

    @Override
    public void before(Path file) throws IOException {
      int n = isLog(file) ? logForces.incrementAndGet() : dataForces.incrementAndGet();
      if (n == 1 && isLog(file) == log) {
        forcing.countDown();
        try {
          assertThat(release.await(20, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
      }
    }
  }

  /** Waits until {@code t} waits (for a round); fails if it never does. */
  private static void awaitWaiting(Thread[] t) throws InterruptedException {
    for (int i = 0; i < 2000 && (t[0] == null || t[0].getState() != Thread.State.WAITING); i++) {
      Thread.sleep(5);
    }
    assertThat(t[0].getState()).isEqualTo(Thread.State.WAITING);
  }

  @Test
  void flushesArrivingWhileTheLogIsForcedShareTheNextRound() throws Exception {
    FileBlockStore s = open();
    HoldFirstForce hook = new HoldFirstForce(true);
    s.forceHook(hook);
    put(s, ref(0, 0), bytes(100, 0));
    Future<?> first = pool.submit(s::flush);
    assertThat(hook.forcing.await(10, TimeUnit.SECONDS)).isTrue();
    List<Future<?>> later = new ArrayList<>();
    for (int t = 1; t <= 3; t++) {
      put(s, ref(t, 0), bytes(100, t)); // while the first round forces: not covered by it
      Thread[] waiter = new Thread[1];
      later.add(pool.submit(() -> {
        waiter[0] = Thread.currentThread();
        s.flush();
        return null;
      }));
      awaitWaiting(waiter);
    }
    hook.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    for (Future<?> f : later) {
      f.get(10, TimeUnit.SECONDS);
    }
    assertThat(hook.logForces).as("one shared round after the first").hasValue(2);
    s.close();
    FileBlockStore again = open();
    for (int t = 0; t <= 3; t++) {
      assertThat(again.contains(ref(t, 0))).as("ref of thread %d", t).isTrue();
    }
  }

  @Test
  void putsGetsDeletesAndListsGoOnWhileARoundForcesTheData() throws Exception {
    FileBlockStore s = open();
    put(s, ref(0, 0), bytes(5000, 0));
    put(s, ref(0, 1), bytes(5000, 1));
    HoldFirstForce hook = new HoldFirstForce(false);
    s.forceHook(hook);
    Future<?> flush = pool.submit(s::flush);
    assertThat(hook.forcing.await(10, TimeUnit.SECONDS)).isTrue();
    Future<?> work = pool.submit(() -> { // would hang if any lock were held across the force
      put(s, ref(0, 2), bytes(5000, 2));
      assertThat(s.get(ref(0, 0))).isEqualTo(ByteBuffer.wrap(bytes(5000, 0)));
      assertThat(s.delete(ref(0, 1))).isTrue();
      assertThat(s.contains(ref(0, 2))).isTrue();
      assertThat(s.list(4, null, 10)).containsExactly(ref(0, 0), ref(0, 2));
      return null;
    });
    work.get(10, TimeUnit.SECONDS);
    assertThat(flush).isNotDone();
    hook.release.countDown();
    flush.get(10, TimeUnit.SECONDS);
    s.flush();
    s.close();
    FileBlockStore again = open();
    assertThat(again.list(4, null, 10)).containsExactly(ref(0, 0), ref(0, 2));
  }

  @Test
  void aRoundForcesOnlyTheDataFilesWrittenSinceTheLastOne() {
    FileBlockStore s = open(); // two data files, filled round robin
    HoldFirstForce counts = new HoldFirstForce(false);
    counts.release.countDown();
    s.forceHook(counts);
    put(s, ref(0, 0), bytes(100, 0));
    s.flush();
    assertThat(counts.dataForces).hasValue(1);
    put(s, ref(0, 1), bytes(100, 1));
    put(s, ref(0, 2), bytes(100, 2));
    s.flush();
    assertThat(counts.dataForces).hasValue(3);
    assertThat(s.delete(ref(0, 0))).isTrue();
    s.flush(); // only a delete record: nothing to force but the log
    assertThat(counts.dataForces).hasValue(3);
    assertThat(counts.logForces).hasValue(3);
    s.flush(); // nothing pending: no force at all
    assertThat(counts.logForces).hasValue(3);
  }
}
