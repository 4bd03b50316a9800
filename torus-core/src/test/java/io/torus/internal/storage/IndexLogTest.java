package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Replay, torn-tail recovery, corruption detection and rewrite of the {@link IndexLog}. */
class IndexLogTest {
  private static final int PER_CHUNK = IndexLog.REPLAY_CHUNK / IndexRecord.SIZE;

  @TempDir Path dir;
  private Path path;

  @BeforeEach
  void create() throws IOException {
    path = dir.resolve("index.log");
    IndexLog.create(path);
  }

  private static IndexRecord record(int i) {
    BlockRef ref = new BlockRef(3, 1 + i / 1000, i, BlockKind.DATA);
    return i % 5 == 4 ? new IndexRecord(ref, null) : new IndexRecord(ref, new Location(0, i, i));
  }

  private static List<IndexRecord> records(int from, int to) {
    List<IndexRecord> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(record(i));
    }
    return out;
  }

  private static ByteBuffer encode(List<IndexRecord> records) {
    ByteBuffer b = ByteBuffer.allocate(records.size() * IndexRecord.SIZE);
    records.forEach(r -> r.writeTo(b));
    return b.flip();
  }

  private static long offsetOf(int slot) {
    return IndexLog.HEADER_SIZE + (long) slot * IndexRecord.SIZE;
  }

  /** Appends records {@code 0..n-1} in batches of 7, each forced. */
  private void appendRecords(int n) throws IOException {
    try (IndexLog log = IndexLog.open(path, r -> { })) {
      for (int i = 0; i < n; i += 7) {
        log.append(encode(records(i, Math.min(n, i + 7))));
      }
    }
  }

  private List<IndexRecord> replay() throws IOException {
    List<IndexRecord> out = new ArrayList<>();
    try (IndexLog log = IndexLog.open(path, out::add)) {
      assertThat(log.records()).isEqualTo(out.size());
    }
    return out;
  }

  private void overwrite(long offset, byte[] bytes) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
      raf.seek(offset);
      raf.write(bytes);
    }
  }

  private void flipByte(long offset) throws IOException {
    byte[] all = Files.readAllBytes(path);
    overwrite(offset, new byte[] {(byte) (all[(int) offset] ^ 0x40)});
  }

  @Test
  void badRecordFollowedByValidRecordsFailsTheOpenAndChangesNothing() throws IOException {
    appendRecords(20);
    flipByte(offsetOf(3) + 7);
    byte[] before = Files.readAllBytes(path);
    assertThatThrownBy(this::replay).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining(path.toString())
        .hasMessageContaining("byte offset " + offsetOf(3))
        .hasMessageContaining("16 valid records follow");
    assertThat(Files.readAllBytes(path)).isEqualTo(before);
  }

  @Test
  void zeroedRecordsBeforeValidOnesAreCorruptionToo() throws IOException {
    appendRecords(20);
    overwrite(offsetOf(10), new byte[3 * IndexRecord.SIZE]);
    assertThatThrownBy(this::replay).isInstanceOf(TorusException.class)
        .hasMessageContaining("byte offset " + offsetOf(10));
  }

  @Test
  void damagedLastRecordIsATornTail() throws IOException {
    appendRecords(20);
    flipByte(offsetOf(19) + 30);
    assertThat(replay()).isEqualTo(records(0, 19));
    assertThat(Files.size(path)).isEqualTo(offsetOf(19));
  }

  /**
   * An append of one batch torn anywhere: a prefix of the batch is written, the rest of the
   * file is missing, zeros or garbage up to EOF. Replay keeps the committed records and the
   * whole records of the batch before the tear, and truncates the rest.
   */
  @Test
  void batchTornAnywhereLeavesACommittedPrefix() throws IOException {
    long seed = new Random().nextLong();
    Random rnd = new Random(seed);
    for (int round = 0; round < 60; round++) {
      Files.delete(path);
      IndexLog.create(path);
      appendRecords(13);
      List<IndexRecord> batch = records(13, 13 + 1 + rnd.nextInt(40));
      byte[] bytes = encode(batch).array();
      int tear = rnd.nextInt(bytes.length);
      int end = tear + rnd.nextInt(bytes.length - tear + 100);
      byte[] tail = new byte[end];
      System.arraycopy(bytes, 0, tail, 0, tear);
      int kind = round % 3;
      if (kind == 1) { // the pages after the tear were never written: zeros
        Arrays.fill(tail, tear, end, (byte) 0);
      } else if (kind == 2) { // garbage, e.g. stale sectors
        byte[] junk = new byte[end - tear];
        rnd.nextBytes(junk);
        System.arraycopy(junk, 0, tail, tear, junk.length);
      } else {
        tail = Arrays.copyOf(tail, tear);
      }
      overwrite(offsetOf(13), tail);
      int whole = tear / IndexRecord.SIZE;
      List<IndexRecord> expected = new ArrayList<>(records(0, 13));
      expected.addAll(batch.subList(0, whole));
      assertThat(replay()).as("seed %d round %d", seed, round).isEqualTo(expected);
      assertThat(Files.size(path)).as("seed %d", seed).isEqualTo(offsetOf(13 + whole));
      assertThat(replay()).as("seed %d", seed).isEqualTo(expected);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, PER_CHUNK - 1, PER_CHUNK, PER_CHUNK + 1, 2 * PER_CHUNK - 1,
      2 * PER_CHUNK, 2 * PER_CHUNK + 1, 3 * PER_CHUNK + 17})
  void rewriteAroundTheBufferBoundaryKeepsEveryRecord(int n) throws IOException {
    appendRecords(30);
    List<IndexRecord> live = records(100, 100 + n);
    try (IndexLog log = IndexLog.open(path, r -> { })) {
      log.rewrite(live);
      assertThat(log.records()).isEqualTo(n);
      log.append(encode(records(0, 3)));
    }
    assertThat(Files.size(path)).isEqualTo(offsetOf(n + 3));
    List<IndexRecord> expected = new ArrayList<>(live);
    expected.addAll(records(0, 3));
    assertThat(replay()).isEqualTo(expected);
    assertThat(Files.exists(dir.resolve("index.log.tmp"))).isFalse();
  }
}
