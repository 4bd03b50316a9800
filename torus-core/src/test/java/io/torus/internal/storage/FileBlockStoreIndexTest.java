package io.torus.internal.storage;

import static io.torus.internal.storage.TestBlocks.bytes;
import static io.torus.internal.storage.TestBlocks.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.StoreConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Index log compaction, corruption handling and salvage of a {@link FileBlockStore}. */
class FileBlockStoreIndexTest {
  private static final int PER_CHUNK = IndexLog.REPLAY_CHUNK / IndexRecord.SIZE;

  @TempDir Path dir;
  @TempDir Path elsewhere;
  private final List<FileBlockStore> opened = new ArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void closeAll() {
    pool.shutdownNow();
    for (FileBlockStore s : opened) {
      try {
        s.close();
      } catch (TorusException ignored) {
        // a test may have failed the store on purpose
      }
    }
  }

  private FileBlockStore open(Path where, long capacity, long compactMinRecords) {
    FileBlockStore s = FileStoreOpener.open(where, capacity, 1, compactMinRecords);
    opened.add(s);
    return s;
  }

  private FileBlockStore open() {
    return open(dir, 4L << 20, 1000);
  }

  private FileBlockStore salvage() {
    FileBlockStore s = (FileBlockStore) new FileBlockStoreProvider()
        .open(new StoreConfig(dir, 4L << 20, Map.of("salvageIndex", "true")));
    opened.add(s);
    return s;
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(8, 2, seq, BlockKind.DATA);
  }

  private static void put(FileBlockStore s, BlockRef r, byte[] b) {
    s.put(r, ByteBuffer.wrap(b), crc(b));
  }

  private static byte[] read(FileBlockStore s, BlockRef r) {
    ByteBuffer b = s.get(r);
    if (b == null) {
      return null;
    }
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  private Path index() {
    return dir.resolve(FileStoreOpener.INDEX);
  }

  private static long offsetOf(int record) {
    return IndexLog.HEADER_SIZE + (long) record * IndexRecord.SIZE;
  }

  private void flipByte(Path file, long offset) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(offset);
      int b = raf.read();
      raf.seek(offset);
      raf.write(b ^ 0x08);
    }
  }

  private static void copyStore(Path from, Path to) throws IOException {
    try (var files = Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (!f.getFileName().toString().equals(FileStoreOpener.LOCK)) {
          Files.copy(f, to.resolve(f.getFileName()));
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {PER_CHUNK - 1, PER_CHUNK, PER_CHUNK + 1, 3 * PER_CHUNK + 100})
  void compactionAroundAndPastOneIndexBufferKeepsEveryBlock(int n) throws IOException {
    FileBlockStore s = open(dir, (n + 1200L) * FileBlockStore.UNIT, 1);
    for (int i = 0; i < n; i++) {
      put(s, ref(i), bytes(1 + i % 50, i));
    }
    s.flush();
    assertThat(Files.size(index())).isEqualTo(offsetOf(n));
    boolean compacted = false;
    for (int k = 0; k < n && !compacted; k++) { // put and delete others until the log is 2n
      BlockRef extra = new BlockRef(8, 3, k, BlockKind.DATA);
      put(s, extra, bytes(10, k));
      s.delete(extra);
      if (k % 1000 == 999 || k == n - 1) {
        s.flush();
        compacted = Files.size(index()) == offsetOf(n);
      }
    }
    assertThat(compacted).as("compacted").isTrue();
    put(s, ref(n), bytes(77, n)); // the store still takes writes
    s.flush();
    s.close();
    FileBlockStore again = open(dir, (n + 1200L) * FileBlockStore.UNIT, 1);
    for (int i = 0; i <= n; i++) {
      assertThat(read(again, ref(i))).isEqualTo(i == n ? bytes(77, n) : bytes(1 + i % 50, i));
    }
    assertThat(again.list(8, new BlockRef(8, 2, n, BlockKind.PARITY), 10)).isEmpty();
  }

  @Test
  void compactionLetsPutsAndGetsRunWhileItForces() throws Exception {
    FileBlockStore s = open(dir, 16L << 20, 1);
    for (int i = 0; i < 100; i++) {
      put(s, ref(i), bytes(200, i));
    }
    s.flush();
    for (int i = 100; i < 200; i++) { // 200 more records: the next flush compacts
      put(s, ref(i), bytes(200, i));
      s.delete(ref(i));
    }
    CountDownLatch forcing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    s.forceHook(new ForceHook() {
      @Override
      public void before(Path file) throws IOException {
        if (file.getFileName().toString().endsWith(".tmp")) {
          forcing.countDown();
          try {
            release.await(20, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
        }
      }
    });
    Future<?> flush = pool.submit(s::flush);
    try {
      assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue();
      copyStore(dir, elsewhere); // what a crash now would leave
      Future<?> ops = pool.submit(() -> {
        put(s, ref(500), bytes(300, 500));
        assertThat(read(s, ref(1))).isEqualTo(bytes(200, 1));
        assertThat(s.delete(ref(2))).isTrue();
        assertThat(s.contains(ref(500))).isTrue();
        return null;
      });
      ops.get(5, TimeUnit.SECONDS);
    } finally {
      release.countDown();
    }
    flush.get(10, TimeUnit.SECONDS);
    assertThat(Files.size(index())).isEqualTo(offsetOf(100));
    s.flush(); // the put and delete made during the compaction
    s.close();
    FileBlockStore again = open();
    FileBlockStore crashed = open(elsewhere, 16L << 20, 1);
    for (int i = 0; i < 200; i++) {
      byte[] want = i < 100 ? bytes(200, i) : null;
      assertThat(read(crashed, ref(i))).as("crash copy, %d", i).isEqualTo(want);
      assertThat(read(again, ref(i))).as("%d", i).isEqualTo(i == 2 ? null : want);
    }
    assertThat(read(again, ref(500))).isEqualTo(bytes(300, 500));
    assertThat(crashed.contains(ref(500))).isFalse();
  }

  @Test
  void aFlushFailureThatFailsTheStoreIsLoggedWithItsCause() {
    for (String target : List.of(FileStoreOpener.INDEX, FileStoreOpener.INDEX + ".tmp")) {
      Path where = dir.resolve(target.endsWith(".tmp") ? "compacting" : "appending");
      FileBlockStore s = open(where, 4L << 20, target.endsWith(".tmp") ? 1 : 1000);
      put(s, ref(1), bytes(100, 1));
      s.delete(ref(1));
      s.forceHook(new ForceHook() {
        @Override
        public void before(Path file) throws IOException {
          if (file.getFileName().toString().equals(target)) {
            throw new IOException("injected fsync failure of " + target);
          }
        }
      });
      try (CapturedStderr err = new CapturedStderr()) {
        assertThatThrownBy(s::flush).isInstanceOf(TorusException.class)
            .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
        assertThat(err.text()).containsPattern("(WARN|ERROR) .*" + FileBlockStore.class
            .getSimpleName()).contains(s.name()).contains("injected fsync failure of " + target);
      }
      assertThatThrownBy(() -> put(s, ref(2), bytes(10, 2))).isInstanceOf(TorusException.class)
          .hasMessageContaining("reopen");
    }
  }

  @Test
  void midFileIndexCorruptionRefusesTheStoreUntilSalvaged() throws IOException {
    FileBlockStore s = open();
    for (int i = 0; i < 10; i++) {
      put(s, ref(i), bytes(3000, i));
      s.flush(); // one record per flush
    }
    s.close();
    flipByte(index(), offsetOf(3) + 5);
    byte[] before = Files.readAllBytes(index());
    assertThatThrownBy(this::open).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining(index().toString())
        .hasMessageContaining("byte offset " + offsetOf(3))
        .hasMessageContaining("salvageIndex");
    assertThat(Files.readAllBytes(index())).isEqualTo(before);
    try (CapturedStderr err = new CapturedStderr()) {
      FileBlockStore salvaged = salvage();
      assertThat(err.text()).contains("WARN").contains("byte offset " + offsetOf(3));
      for (int i = 0; i < 10; i++) {
        assertThat(read(salvaged, ref(i))).isEqualTo(i == 3 ? null : bytes(3000, i));
      }
      put(salvaged, ref(3), bytes(3000, 3)); // the lost block comes back from another copy
      salvaged.close();
    }
    FileBlockStore strict = open();
    for (int i = 0; i < 10; i++) {
      assertThat(read(strict, ref(i))).isEqualTo(bytes(3000, i));
    }
  }

  @Test
  void salvageThatResurrectsADeletedBlockKeepsTheNewerOneInItsSpace() throws IOException {
    FileBlockStore s = open();
    put(s, ref(1), bytes(3000, 1));
    s.flush();
    s.delete(ref(1));
    s.flush(); // record 1: the delete; the space is free again
    put(s, ref(2), bytes(3000, 2));
    s.flush();
    assertThat(s.location(ref(2)).unit()).isZero(); // reused ref 1's space
    put(s, ref(3), bytes(3000, 3));
    s.close();
    flipByte(index(), offsetOf(1) + 30);
    assertThatThrownBy(this::open).hasMessageContaining("byte offset " + offsetOf(1));
    FileBlockStore salvaged = salvage();
    assertThat(salvaged.contains(ref(1))).isFalse();
    assertThat(read(salvaged, ref(2))).isEqualTo(bytes(3000, 2));
    assertThat(read(salvaged, ref(3))).isEqualTo(bytes(3000, 3));
  }
}
