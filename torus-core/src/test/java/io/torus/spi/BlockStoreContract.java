package io.torus.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every {@link BlockStore} must show. Extend it once per implementation and
 * implement {@link #newStore(long)}; the subclass may use {@link #dir} for files.
 */
public abstract class BlockStoreContract {

  /** A fresh directory per test, for stores that keep files. */
  @TempDir protected Path dir;

  private final List<BlockStore> opened = new ArrayList<>();

  /** Opens a new, empty store that may use {@code capacity} bytes. */
  protected abstract BlockStore newStore(long capacity);

  /**
   * Damages the stored copy of {@code ref} (a non-empty block) in place, as a bad disk sector
   * or a memory fault would, so that {@code get} reports it corrupt.
   */
  protected abstract void corrupt(BlockStore s, BlockRef ref);

  /** Opens a store and closes it after the test. */
  protected final BlockStore open(long capacity) {
    BlockStore s = newStore(capacity);
    opened.add(s);
    return s;
  }

  @AfterEach
  void closeStores() {
    opened.forEach(BlockStore::close);
  }

  /** A ref of volume {@code vol}. */
  protected static BlockRef ref(long vol, int seq) {
    return new BlockRef(vol, 1, seq, BlockKind.DATA);
  }

  /** Deterministic pseudo-random bytes. */
  protected static byte[] bytes(int len, long seed) {
    byte[] b = new byte[len];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** CRC32C of an array. */
  protected static int crc(byte[] b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return (int) c.getValue();
  }

  /** Puts {@code b} with its correct checksum. */
  protected static void put(BlockStore s, BlockRef r, byte[] b) {
    s.put(r, ByteBuffer.wrap(b), crc(b));
  }

  /** The stored bytes of {@code r}, or null. */
  protected static byte[] read(BlockStore s, BlockRef r) {
    ByteBuffer b = s.get(r);
    if (b == null) {
      return null;
    }
    assertThat(b.position()).isZero();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  private static Set<BlockRef> list(BlockStore s, long vol) {
    Set<BlockRef> out = new HashSet<>();
    s.forEach(vol, out::add);
    return out;
  }

  @Test
  void putThenGetRoundTripsSeveralSizes() {
    BlockStore s = open(64L << 20);
    int[] sizes = {0, 1, 4095, 4096, 4097, 65536, s.capabilities().maxBlockSize()};
    for (int i = 0; i < sizes.length; i++) {
      put(s, ref(1, i), bytes(sizes[i], i));
    }
    for (int i = 0; i < sizes.length; i++) {
      assertThat(s.contains(ref(1, i))).isTrue();
      assertThat(read(s, ref(1, i))).isEqualTo(bytes(sizes[i], i));
    }
    assertThat(s.capabilities().maxBlockSize()).isGreaterThanOrEqualTo(4 * 1024 * 1024);
    assertThat(s.used()).isPositive().isLessThanOrEqualTo(s.capacity());
  }

  @Test
  void putReadsRemainingBytesAndKeepsPosition() {
    BlockStore s = open(1L << 20);
    byte[] all = bytes(300, 7);
    ByteBuffer direct = ByteBuffer.allocateDirect(300).put(all).position(100).limit(250);
    byte[] middle = java.util.Arrays.copyOfRange(all, 100, 250);
    s.put(ref(1, 1), direct, crc(middle));
    assertThat(direct.position()).isEqualTo(100);
    assertThat(direct.limit()).isEqualTo(250);
    assertThat(read(s, ref(1, 1))).isEqualTo(middle);
  }

  @Test
  void putOfStoredRefIsNoOp() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(5000, 1));
    long used = s.used();
    put(s, ref(1, 1), bytes(5000, 1));
    assertThat(s.used()).isEqualTo(used);
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(5000, 1));
  }

  @Test
  void putOfStoredRefWithOtherContentFailsAndKeepsTheStoredCopy() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(5000, 1));
    long used = s.used();
    for (byte[] other : List.of(bytes(5000, 2), bytes(4999, 1), new byte[0])) {
      assertThatThrownBy(() -> put(s, ref(1, 1), other))
          .isInstanceOf(RefConflictException.class)
          .isInstanceOf(CorruptBlockException.class)
          .hasMessageContaining(ref(1, 1).toString())
          .hasMessageContaining(s.name())
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
          .satisfies(e -> assertThat(((TorusException) e).isRetryable()).isFalse());
    }
    assertThat(s.used()).isEqualTo(used);
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(5000, 1));
    s.flush();
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(5000, 1));
  }

  @Test
  void putOverACorruptStoredCopyReplacesIt() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(5000, 1));
    put(s, ref(1, 2), bytes(3000, 2));
    s.flush();
    corrupt(s, ref(1, 1));
    corrupt(s, ref(1, 2));
    assertThatThrownBy(() -> s.get(ref(1, 1))).isInstanceOf(CorruptBlockException.class);
    put(s, ref(1, 1), bytes(5000, 1)); // the same content: a good copy
    put(s, ref(1, 2), bytes(7000, 9)); // other content: the stored copy proves nothing
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(5000, 1));
    assertThat(read(s, ref(1, 2))).isEqualTo(bytes(7000, 9));
    s.flush();
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(5000, 1));
    assertThat(read(s, ref(1, 2))).isEqualTo(bytes(7000, 9));
    put(s, ref(1, 1), bytes(5000, 1)); // now a no-op again
    assertThatThrownBy(() -> put(s, ref(1, 1), bytes(5000, 3)))
        .isInstanceOf(RefConflictException.class);
    assertThat(list(s, 1)).containsExactlyInAnyOrder(ref(1, 1), ref(1, 2));
  }

  @Test
  void racingPutsOfOneRefStoreOneCopyAndConflictsFail() throws Exception {
    BlockStore s = open(16L << 20);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 20; round++) {
        BlockRef r = ref(2, round);
        boolean same = round % 2 == 0;
        List<Future<Boolean>> puts = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          byte[] b = bytes(9000, same ? round : round * 10L + t);
          puts.add(pool.submit(() -> {
            try {
              put(s, r, b);
              return true;
            } catch (RefConflictException e) {
              return false;
            }
          }));
        }
        int ok = 0;
        for (Future<Boolean> f : puts) {
          ok += f.get(30, TimeUnit.SECONDS) ? 1 : 0;
        }
        assertThat(ok).as("round %d", round).isEqualTo(same ? 4 : 1);
        byte[] got = read(s, r);
        assertThat(got).hasSize(9000);
        if (same) {
          assertThat(got).isEqualTo(bytes(9000, round));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(list(s, 2)).hasSize(20);
  }

  @Test
  void enospcDuringAReplacementKeepsTheOldCopy() {
    BlockStore s = open(1L << 20);
    int size = 64 * 1024;
    int stored = 0;
    try {
      for (; stored < 64; stored++) {
        put(s, ref(1, stored), bytes(size, stored));
      }
    } catch (TorusException e) {
      assertThat(e.code()).isEqualTo(ErrorCode.ENOSPC);
    }
    s.flush();
    assertThat(stored).isBetween(2, 63);
    corrupt(s, ref(1, 0));
    assertThatThrownBy(() -> put(s, ref(1, 0), bytes(size, 0)))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.ENOSPC));
    assertThat(s.contains(ref(1, 0))).isTrue();
    assertThatThrownBy(() -> s.get(ref(1, 0))).isInstanceOf(CorruptBlockException.class);
    s.flush();
    assertThat(s.contains(ref(1, 0))).isTrue();
    assertThat(s.delete(ref(1, 1))).isTrue();
    s.flush();
    put(s, ref(1, 0), bytes(size, 0));
    assertThat(read(s, ref(1, 0))).isEqualTo(bytes(size, 0));
    s.flush();
    assertThat(read(s, ref(1, 0))).isEqualTo(bytes(size, 0));
    for (int i = 2; i < stored; i++) {
      assertThat(read(s, ref(1, i))).isEqualTo(bytes(size, i));
    }
  }

  @Test
  void listPagesThroughAVolumeInRefOrder() {
    BlockStore s = open(64L << 20);
    List<BlockRef> expected = new ArrayList<>();
    Random rnd = new Random(11);
    for (int i = 0; i < 10_000; i++) {
      BlockRef r = new BlockRef(5, 1 + rnd.nextInt(50), rnd.nextInt(1 << 20),
          BlockKind.values()[rnd.nextInt(3)]);
      if (!s.contains(r)) {
        put(s, r, bytes(1 + i % 7, i));
        expected.add(r);
      }
    }
    put(s, ref(4, 1), bytes(3, 1)); // neighbouring volumes stay out
    put(s, ref(6, 1), bytes(3, 1));
    expected.sort(null);
    assertThat(pageAll(s, 5, 333)).isEqualTo(expected);
    BlockRef last = null;
    for (int i = 0; i < 5; i++) {
      List<BlockRef> one = s.list(5, last, 1);
      assertThat(one).containsExactly(expected.get(i));
      last = one.get(0);
    }
    assertThat(s.list(5, null, 20_000)).isEqualTo(expected);
    assertThat(s.list(5, expected.get(9_000), 5)).isEqualTo(expected.subList(9_001, 9_006));
    assertThat(s.list(5, expected.get(expected.size() - 1), 5)).isEmpty();
    assertThat(s.list(5, ref(4, 1), 2)).isEqualTo(expected.subList(0, 2));
    assertThat(s.list(5, ref(6, 0), 2)).isEmpty();
    assertThat(s.list(7, null, 2)).isEmpty();
    BlockRef absent = new BlockRef(5, 1, 0, BlockKind.DATA);
    assertThat(s.list(5, absent, 3)).allSatisfy(r -> assertThat(r).isGreaterThan(absent));
    assertThatThrownBy(() -> s.list(5, null, 0)).isInstanceOf(TorusException.class)
        .hasMessageContaining("max <= 0: 0");
  }

  @Test
  void listPagingUnderConcurrentPutsAndDeletesNeitherRepeatsNorSkips() throws Exception {
    BlockStore s = open(64L << 20);
    List<BlockRef> stable = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) { // even sequences stay, odd ones come and go
      stable.add(ref(3, 2 * i));
      put(s, ref(3, 2 * i), bytes(4, i));
    }
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<?> churn = pool.submit(() -> {
        Random rnd = new Random(5);
        for (int n = 0; !stop.get() && n < 2_000_000; n++) {
          BlockRef r = ref(3, 2 * rnd.nextInt(10_001) + 1);
          if (!s.delete(r)) {
            put(s, r, bytes(4, r.sequence()));
          }
          if (n % 1000 == 999) {
            s.flush(); // lets a file store reuse deleted space
          }
        }
        return null;
      });
      for (int round = 0; round < 3; round++) {
        List<BlockRef> seen = pageAll(s, 3, 97 + round * 400);
        assertThat(seen).isSorted().doesNotHaveDuplicates();
        assertThat(seen.stream().filter(r -> r.sequence() % 2 == 0).toList())
            .isEqualTo(stable);
      }
      stop.set(true);
      churn.get(60, TimeUnit.SECONDS);
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }
  }

  private static List<BlockRef> pageAll(BlockStore s, long vol, int max) {
    List<BlockRef> out = new ArrayList<>();
    BlockRef after = null;
    for (int pages = 0; pages < 100_000; pages++) {
      List<BlockRef> page = s.list(vol, after, max);
      assertThat(page.size()).isLessThanOrEqualTo(max);
      out.addAll(page);
      if (page.size() < max) {
        return out;
      }
      after = page.get(page.size() - 1);
    }
    throw new AssertionError("paging did not end");
  }

  @Test
  void missingRefReadsAsNull() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(10, 1));
    assertThat(s.get(ref(1, 2))).isNull();
    assertThat(s.get(new BlockRef(1, 1, 1, BlockKind.MAP))).isNull();
    assertThat(s.contains(ref(2, 1))).isFalse();
  }

  @Test
  void deleteRemovesOnlyThatBlock() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(100, 1));
    put(s, ref(1, 2), bytes(100, 2));
    assertThat(s.delete(ref(1, 1))).isTrue();
    assertThat(s.delete(ref(1, 1))).isFalse();
    assertThat(s.get(ref(1, 1))).isNull();
    assertThat(s.contains(ref(1, 1))).isFalse();
    assertThat(read(s, ref(1, 2))).isEqualTo(bytes(100, 2));
    s.flush();
    put(s, ref(1, 1), bytes(100, 1));
    assertThat(read(s, ref(1, 1))).isEqualTo(bytes(100, 1));
  }

  @Test
  void forEachListsOnlyTheVolume() {
    BlockStore s = open(4L << 20);
    Set<BlockRef> v2 = new HashSet<>();
    Set<BlockRef> v20 = new HashSet<>();
    Set<BlockRef> v200 = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      v2.add(ref(2, i));
      v20.add(new BlockRef(20, 1 + i, i, BlockKind.values()[i % 3]));
      v200.add(new BlockRef(200, 5, i * 1000, BlockKind.MAP));
    }
    for (Set<BlockRef> set : List.of(v2, v20, v200)) {
      set.forEach(r -> put(s, r, bytes(64, r.sequence())));
    }
    assertThat(list(s, 2)).isEqualTo(v2);
    assertThat(list(s, 20)).isEqualTo(v20);
    assertThat(list(s, 200)).isEqualTo(v200);
    assertThat(list(s, 3)).isEmpty();
    assertThat(list(s, 0)).isEmpty();
    s.delete(ref(2, 0));
    assertThat(list(s, 2)).hasSize(9).doesNotContain(ref(2, 0));
  }

  @Test
  void checksumMismatchOnPutIsRejectedAndStoresNothing() {
    BlockStore s = open(1L << 20);
    byte[] b = bytes(4096, 3);
    long used = s.used();
    assertThatThrownBy(() -> s.put(ref(1, 1), ByteBuffer.wrap(b), crc(b) ^ 1))
        .isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref(1, 1).toString());
    assertThat(s.contains(ref(1, 1))).isFalse();
    assertThat(s.get(ref(1, 1))).isNull();
    assertThat(s.used()).isEqualTo(used);
  }

  @Test
  void tooLargeBlockIsRejected() {
    BlockStore s = open(16L << 20);
    byte[] b = new byte[s.capabilities().maxBlockSize() + 1];
    assertThatThrownBy(() -> s.put(ref(1, 1), ByteBuffer.wrap(b), crc(b)))
        .isInstanceOf(TorusException.class);
    assertThat(s.contains(ref(1, 1))).isFalse();
  }

  @Test
  void fullStoreThrowsEnospcAndStaysUsable() {
    BlockStore s = open(1L << 20);
    int size = 64 * 1024;
    int stored = 0;
    TorusException full = null;
    for (int i = 0; i < 64 && full == null; i++) {
      try {
        put(s, ref(1, i), bytes(size, i));
        stored++;
      } catch (TorusException e) {
        full = e;
      }
    }
    assertThat(full).isNotNull();
    assertThat(full.code()).isEqualTo(ErrorCode.ENOSPC);
    assertThat(stored).isBetween(1, 16);
    assertThat(s.used()).isLessThanOrEqualTo(s.capacity());
    assertThat(s.contains(ref(1, stored))).isFalse();
    for (int i = 0; i < stored; i++) {
      assertThat(read(s, ref(1, i))).isEqualTo(bytes(size, i));
    }
    assertThat(s.delete(ref(1, 0))).isTrue();
    s.flush();
    put(s, ref(1, 1000), bytes(size, 1000));
    assertThat(read(s, ref(1, 1000))).isEqualTo(bytes(size, 1000));
    assertThat(read(s, ref(1, stored - 1))).isEqualTo(bytes(size, stored - 1));
  }

  @Test
  void concurrentPutsAndGetsFromSeveralThreads() throws Exception {
    BlockStore s = open(64L << 20);
    int threads = 4;
    int perThread = 150;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int tid = t;
        futures.add(pool.submit(() -> {
          Random rnd = new Random(tid);
          for (int i = 0; i < perThread; i++) {
            int seq = tid * perThread + i;
            put(s, ref(9, seq), bytes(1 + rnd.nextInt(20000), seq));
            int other = rnd.nextInt(threads * perThread);
            byte[] got = read(s, ref(9, other));
            if (got != null) {
              assertThat(got).isEqualTo(bytes(got.length, other));
            }
            if (i % 10 == 0) {
              byte[] again = read(s, ref(9, seq));
              put(s, ref(9, seq), again); // duplicate put of the same bytes: a no-op
            }
            if (i % 50 == 0) {
              s.flush();
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(list(s, 9)).hasSize(threads * perThread);
    for (int seq = 0; seq < threads * perThread; seq++) {
      byte[] got = read(s, ref(9, seq));
      assertThat(got).isEqualTo(bytes(got.length, seq));
    }
  }

  @Test
  void returnedBuffersAreIndependentOfTheStore() {
    BlockStore s = open(1L << 20);
    byte[] original = bytes(1000, 5);
    byte[] mine = original.clone();
    put(s, ref(1, 1), mine);
    java.util.Arrays.fill(mine, (byte) 0); // the caller reuses its array
    ByteBuffer first = s.get(ref(1, 1));
    if (first.isReadOnly()) { // a view of the store's copy: no write may get through
      assertThatThrownBy(() -> first.put(0, (byte) 0x55))
          .isInstanceOf(java.nio.ReadOnlyBufferException.class);
      first.position(first.limit());
    }
    while (first.hasRemaining()) {
      first.put((byte) 0x55);
    }
    ByteBuffer second = s.get(ref(1, 1));
    assertThat(second).isNotSameAs(first);
    assertThat(read(s, ref(1, 1))).isEqualTo(original);
  }

  @Test
  void useAfterCloseThrowsClosed() {
    BlockStore s = open(1L << 20);
    put(s, ref(1, 1), bytes(10, 1));
    s.close();
    s.close(); // idempotent
    assertThatThrownBy(() -> s.get(ref(1, 1))).isInstanceOf(TorusClosedException.class);
    assertThatThrownBy(() -> put(s, ref(1, 2), bytes(10, 2)))
        .isInstanceOf(TorusClosedException.class);
    assertThatThrownBy(() -> s.delete(ref(1, 1))).isInstanceOf(TorusClosedException.class);
    assertThatThrownBy(() -> s.contains(ref(1, 1))).isInstanceOf(TorusClosedException.class);
    assertThatThrownBy(s::flush).isInstanceOf(TorusClosedException.class);
    assertThatThrownBy(() -> s.forEach(1, r -> { }))
        .isInstanceOf(TorusClosedException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.ESHUTDOWN));
  }
}
