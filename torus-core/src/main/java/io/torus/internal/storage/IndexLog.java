package io.torus.internal.storage;

import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only index of a {@link FileBlockStore}: a 16-byte header followed by 40-byte
 * {@link IndexRecord}s. Replaying the records in order gives the store's content.
 *
 * <pre>
 * +-------+------+--------------------------------------------------+
 * | off   | size | field                                            |
 * +-------+------+--------------------------------------------------+
 * | 0     | 4    | magic 0x54494458 ("TIDX")                        |
 * | 4     | 2    | format version (1)                               |
 * | 6     | 2    | record size (40)                                 |
 * | 8     | 4    | reserved, 0                                      |
 * | 12    | 4    | CRC32C of bytes 0..11                            |
 * | 16    | 40*n | records                                          |
 * +-------+------+--------------------------------------------------+
 * </pre>
 *
 * <p><b>Failure.</b> A crash during an append can leave a torn or garbage tail. Replay stops
 * at the first record that is incomplete or fails its CRC32C and truncates the file there
 * (point-in-time recovery): records are appended in the order the operations happened, so
 * the kept prefix is a consistent earlier state, and a flush acknowledges a batch only after
 * it is forced. {@link #rewrite} replaces the whole log atomically (temp file, force, rename,
 * directory force). A bad header fails the open with {@link ErrorCode#EIO}.
 *
 * <p><b>Concurrency.</b> Not thread-safe; the store calls it under its flush lock.
 */
final class IndexLog implements AutoCloseable {
  static final int MAGIC = 0x54494458;
  static final short VERSION = 1;
  static final int HEADER_SIZE = 16;
  private static final int REPLAY_CHUNK = IndexRecord.SIZE * 4096;
  private static final Logger log = LoggerFactory.getLogger(IndexLog.class);

  private final Path path;
  private DataFile file;
  private long end;
  private long records;

  private IndexLog(Path path, DataFile file, long end, long records) {
    this.path = path;
    this.file = file;
    this.end = end;
    this.records = records;
  }

  /** The 16-byte header. */
  static ByteBuffer header() {
    ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE);
    b.putInt(MAGIC).putShort(VERSION).putShort((short) IndexRecord.SIZE).putInt(0);
    b.putInt(Crc32c.of(b, 0, HEADER_SIZE - 4));
    return b.flip();
  }

  /** Creates (or atomically replaces) {@code path} with an empty log. */
  static void create(Path path) throws IOException {
    DurableFiles.replace(path, header());
  }

  /** Whether {@code path} exists and holds at least one record-sized byte range. */
  static boolean hasRecords(Path path) throws IOException {
    return Files.exists(path) && Files.size(path) > HEADER_SIZE;
  }

  /**
   * Opens the log, calling {@code replay} for each valid record in order, and truncates a torn
   * tail.
   */
  static IndexLog open(Path path, Consumer<IndexRecord> replay) throws IOException {
    DataFile file = new DataFile(path);
    try {
      long size = file.size();
      ByteBuffer head = ByteBuffer.allocate(HEADER_SIZE);
      if (file.readFully(head, 0) != HEADER_SIZE || !head.equals(header())) {
        throw new TorusException(ErrorCode.EIO, "bad index log header in " + path
            + "; refusing to open (no data was changed)");
      }
      long pos = HEADER_SIZE;
      long count = 0;
      ByteBuffer chunk = ByteBuffer.allocate(REPLAY_CHUNK);
      scan:
      while (pos < size) {
        chunk.clear();
        int n = file.readFully(chunk, pos);
        chunk.limit(n).position(0);
        for (int off = 0; off + IndexRecord.SIZE <= n; off += IndexRecord.SIZE) {
          IndexRecord r = IndexRecord.read(chunk, off);
          if (r == null) {
            break scan;
          }
          replay.accept(r);
          pos += IndexRecord.SIZE;
          count++;
        }
        if (n < IndexRecord.SIZE) {
          break;
        }
      }
      if (pos < size) {
        log.warn("index log {}: dropping {} bytes of torn or invalid tail at offset {}",
            path, size - pos, pos);
        file.truncate(pos);
        file.force(true);
      }
      return new IndexLog(path, file, pos, count);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /** Records in the log. */
  long records() {
    return records;
  }

  /** Appends {@code batch} (whole records) and forces the log. */
  void append(ByteBuffer batch) throws IOException {
    int n = batch.remaining();
    file.writeFully(batch, end);
    file.force(true);
    end += n;
    records += n / IndexRecord.SIZE;
  }

  /** Atomically replaces the log with one put record for each of {@code live}. */
  void rewrite(Collection<IndexRecord> live) throws IOException {
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    long size = 0;
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(REPLAY_CHUNK);
      b.put(header());
      for (IndexRecord r : live) {
        if (!b.hasRemaining()) {
          size += drain(ch, b);
        }
        r.writeTo(b);
      }
      size += drain(ch, b);
      ch.force(true);
    }
    file.close();
    DurableFiles.rename(tmp, path);
    file = new DataFile(path);
    end = size;
    records = live.size();
  }

  private static int drain(FileChannel ch, ByteBuffer b) throws IOException {
    b.flip();
    int n = b.remaining();
    while (b.hasRemaining()) {
      ch.write(b);
    }
    b.clear();
    return n;
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}
