package io.torus.internal.storage;

import static io.torus.internal.storage.TestBlocks.bytes;
import static io.torus.internal.storage.TestBlocks.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Persistence, corruption detection and recovery of {@link FileBlockStore}. */
class FileBlockStoreRecoveryTest {
  @TempDir Path dir;
  @TempDir Path elsewhere;
  private final List<FileBlockStore> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    for (FileBlockStore s : opened) {
      try {
        s.close();
      } catch (TorusException ignored) {
        // a test may have damaged the files under it on purpose
      }
    }
  }

  private FileBlockStore open(int files, long compactMinRecords) {
    FileBlockStore s = FileStoreOpener.open(dir, 4L << 20, files, compactMinRecords);
    opened.add(s);
    return s;
  }

  private FileBlockStore open() {
    return open(1, 1000);
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(7, 3, seq, BlockKind.DATA);
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

  /** Byte offset of {@code r}'s block header in data file 0, found by scanning. */
  private long headerOffset(BlockRef r) throws IOException {
    byte[] data = Files.readAllBytes(FileStoreOpener.dataFile(dir, 0));
    ByteBuffer prefix = ByteBuffer.allocate(32).putInt(BlockHeader.MAGIC)
        .putShort(BlockHeader.VERSION).putShort((short) BlockHeader.SIZE);
    r.writeTo(prefix);
    for (int off = 0; off < data.length; off += FileBlockStore.UNIT) {
      if (ByteBuffer.wrap(data, off, 32).equals(prefix.flip())) {
        return off;
      }
      prefix.position(32);
    }
    throw new AssertionError("no header for " + r);
  }

  private void flipByte(Path file, long offset) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(offset);
      int b = raf.read();
      raf.seek(offset);
      raf.write(b ^ 0x10);
    }
  }

  @Test
  void reopenAfterCloseKeepsEverything() {
    FileBlockStore s = open(2, 1000);
    for (int i = 0; i < 40; i++) {
      put(s, ref(i), bytes(100 + i * 997, i));
    }
    for (int i = 0; i < 40; i += 3) {
      s.delete(ref(i));
    }
    long beforeFlush = s.used();
    s.flush(); // frees the deleted blocks' space
    long used = s.used();
    assertThat(used).isLessThan(beforeFlush);
    s.close();
    FileBlockStore again = FileStoreOpener.open(dir, 1L << 30, 5, 1000); // geometry is kept
    opened.add(again);
    assertThat(again.capacity()).isEqualTo(s.capacity());
    assertThat(again.used()).isEqualTo(used);
    for (int i = 0; i < 40; i++) {
      assertThat(read(again, ref(i))).isEqualTo(i % 3 == 0 ? null : bytes(100 + i * 997, i));
    }
    put(again, ref(100), bytes(5000, 100));
    assertThat(read(again, ref(100))).isEqualTo(bytes(5000, 100));
  }

  @Test
  void withoutCloseOnlyFlushedOperationsAreInTheIndex() throws IOException {
    FileBlockStore crashed = open();
    put(crashed, ref(1), bytes(3000, 1));
    put(crashed, ref(2), bytes(3000, 2));
    crashed.flush();
    put(crashed, ref(3), bytes(3000, 3));
    crashed.delete(ref(1));
    // a copy of the files now is what a restart after kill -9 would find
    Path copy = elsewhere;
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (!f.getFileName().toString().equals(FileStoreOpener.LOCK)) {
          Files.copy(f, copy.resolve(f.getFileName()));
        }
      }
    }
    FileBlockStore recovered = FileStoreOpener.open(copy, 4L << 20, 1, 1000);
    opened.add(recovered);
    assertThat(read(recovered, ref(1))).isEqualTo(bytes(3000, 1));
    assertThat(read(recovered, ref(2))).isEqualTo(bytes(3000, 2));
    assertThat(recovered.contains(ref(3))).isFalse();
  }

  @Test
  void secondOpenOfTheSameDirectoryIsRefused() {
    FileBlockStore s = open();
    assertThatThrownBy(this::open).isInstanceOf(TorusException.class)
        .hasMessageContaining("already open")
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EPERM));
    put(s, ref(1), bytes(10, 1));
    s.close();
    assertThat(read(open(), ref(1))).isEqualTo(bytes(10, 1));
  }

  @Test
  void deletedSpaceIsReusedOnlyAfterFlush() {
    FileBlockStore s = FileStoreOpener.open(dir, 64 * 1024, 1, 1000);
    opened.add(s);
    byte[] big = bytes(60 * 1024, 1);
    put(s, ref(1), big);
    s.flush();
    assertThat(s.delete(ref(1))).isTrue();
    assertThatThrownBy(() -> put(s, ref(2), bytes(60 * 1024, 2)))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.ENOSPC));
    s.flush();
    put(s, ref(2), bytes(60 * 1024, 2));
    assertThat(read(s, ref(2))).isEqualTo(bytes(60 * 1024, 2));
  }

  @Test
  void flippedPayloadByteIsReportedAsCorruptNeverReturned() throws IOException {
    FileBlockStore s = open();
    for (int i = 0; i < 3; i++) {
      put(s, ref(i), bytes(10_000, i));
    }
    s.close();
    long off = headerOffset(ref(1));
    Path data = FileStoreOpener.dataFile(dir, 0);
    flipByte(data, off + BlockHeader.SIZE + 5000);
    FileBlockStore again = open();
    assertThatThrownBy(() -> again.get(ref(1)))
        .isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref(1).toString())
        .hasMessageContaining(data.toString())
        .hasMessageContaining("offset " + off)
        .hasMessageContaining("payload CRC32C");
    assertThat(read(again, ref(0))).isEqualTo(bytes(10_000, 0));
    assertThat(read(again, ref(2))).isEqualTo(bytes(10_000, 2));
    flipByte(data, off + 3); // now the header too
    assertThatThrownBy(() -> again.get(ref(1))).isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining("header CRC32C");
  }

  @Test
  void blockWhoseHeaderNamesAnotherRefIsCorrupt() throws IOException {
    FileBlockStore s = open();
    put(s, ref(1), bytes(2000, 1));
    put(s, ref(2), bytes(2000, 1)); // same bytes, other ref
    s.close();
    Path data = FileStoreOpener.dataFile(dir, 0);
    byte[] all = Files.readAllBytes(data);
    int from = (int) headerOffset(ref(1));
    int to = (int) headerOffset(ref(2));
    try (RandomAccessFile raf = new RandomAccessFile(data.toFile(), "rw")) {
      raf.seek(to);
      raf.write(all, from, FileBlockStore.UNIT);
    }
    FileBlockStore again = open();
    assertThatThrownBy(() -> again.get(ref(2))).isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining("another block");
    assertThat(read(again, ref(1))).isEqualTo(bytes(2000, 1));
  }

  @Test
  void tornAndGarbageIndexTailsAreTruncated() throws IOException {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    Path index = dir.resolve(FileStoreOpener.INDEX);
    for (int round = 0; round < 3; round++) {
      FileBlockStore s = open();
      put(s, ref(round), bytes(1234, round));
      s.close();
      long good = Files.size(index);
      byte[] tail;
      if (round == 0) { // half of a valid record
        tail = java.util.Arrays.copyOfRange(Files.readAllBytes(index), (int) good - 40,
            (int) good - 20);
      } else { // random garbage, sometimes record-aligned
        tail = new byte[round == 1 ? 4000 : 17];
        rnd.nextBytes(tail);
      }
      Files.write(index, tail, StandardOpenOption.APPEND);
      FileBlockStore again = open();
      assertThat(Files.size(index)).as("seed %d", seed).isEqualTo(good);
      for (int i = 0; i <= round; i++) {
        assertThat(read(again, ref(i))).as("seed %d", seed).isEqualTo(bytes(1234, i));
      }
      again.close();
    }
  }

  @Test
  void damagedSuperblockFailsOpenWithEioAndChangesNothing() throws IOException {
    FileBlockStore s = open();
    put(s, ref(1), bytes(5000, 1));
    s.close();
    Path sb = dir.resolve(FileStoreOpener.SUPERBLOCK);
    byte[] original = Files.readAllBytes(sb);
    byte[] indexBefore = Files.readAllBytes(dir.resolve(FileStoreOpener.INDEX));
    flipByte(sb, 17);
    assertThatThrownBy(this::open).isInstanceOf(TorusException.class)
        .hasMessageContaining(sb.toString())
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    assertThat(Files.readAllBytes(dir.resolve(FileStoreOpener.INDEX))).isEqualTo(indexBefore);
    Files.delete(sb);
    assertThatThrownBy(this::open).isInstanceOf(TorusException.class)
        .hasMessageContaining("refusing to initialize");
    Files.write(sb, original);
    assertThat(read(open(), ref(1))).isEqualTo(bytes(5000, 1));
  }

  @Test
  void compactionKeepsTheLiveSetAndBoundsTheLog() {
    FileBlockStore s = open(1, 16);
    Random rnd = new Random(42);
    boolean[] live = new boolean[30];
    for (int step = 0; step < 600; step++) {
      int i = rnd.nextInt(live.length);
      if (live[i]) {
        s.delete(ref(i));
      } else {
        put(s, ref(i), bytes(500 + i, i));
      }
      live[i] = !live[i];
      if (step % 7 == 0) {
        s.flush();
      }
    }
    s.close();
    assertThat(dir.resolve(FileStoreOpener.INDEX).toFile().length())
        .isLessThan(IndexLog.HEADER_SIZE + 2L * IndexRecord.SIZE * (live.length + 16));
    FileBlockStore again = open(1, 16);
    for (int i = 0; i < live.length; i++) {
      assertThat(read(again, ref(i))).isEqualTo(live[i] ? bytes(500 + i, i) : null);
    }
  }

  @Test
  void interruptedReaderDoesNotBreakTheStore() {
    FileBlockStore s = open();
    put(s, ref(1), bytes(8000, 1));
    Thread.currentThread().interrupt();
    try {
      s.get(ref(1));
    } catch (TorusException e) {
      assertThat(e.code()).isEqualTo(ErrorCode.EIO);
    } finally {
      assertThat(Thread.interrupted()).isTrue();
    }
    assertThat(read(s, ref(1))).isEqualTo(bytes(8000, 1));
    put(s, ref(2), bytes(100, 2));
    s.flush();
    s.close();
    assertThat(read(open(), ref(2))).isEqualTo(bytes(100, 2));
  }
}
