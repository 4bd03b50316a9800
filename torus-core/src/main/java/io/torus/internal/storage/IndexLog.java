package io.torus.internal.storage;

import io.torus.internal.Crc32c;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * <p><b>Failure.</b> Records sit in 40-byte slots from byte 16. A slot is <em>bad</em> if it is
 * incomplete or does not decode ({@link IndexRecord#read}: CRC32C, type, reserved bytes). One
 * append writes a whole batch of records and is forced before the flush it belongs to returns,
 * so a crash can leave only the last batch torn, anywhere: a prefix of it written, then
 * missing, zero or stale bytes up to the end of the file. Replay therefore distinguishes:
 * <ul>
 *   <li><b>torn tail</b>: the bad slots after the last valid record, up to EOF (no valid
 *       record follows them). They can only come from an interrupted append, never held an
 *       acknowledged record, and are truncated at open (the kept prefix is a consistent
 *       earlier state: records are appended in operation order);
 *   <li><b>corruption</b>: a bad slot followed by a valid record. Appends never write after a
 *       hole, so the bad slot once held a durable record that was damaged. The open fails with
 *       {@link ErrorCode#EIO} naming the file and the byte offset, and nothing is changed;
 *       {@link Recovery#SALVAGE} skips the bad slots instead (logged at WARN) and keeps the
 *       records after them.
 * </ul>
 * A power loss on a file system that writes the pages of one write out of order can leave a
 * zeroed page inside the last, unacknowledged batch with valid records after it; that is
 * refused as corruption too (it cannot be told apart), and salvaging it is safe: those
 * records were never acknowledged and their blocks' data was forced before the batch.
 * {@link #rewrite} replaces the whole log atomically (temp file, force, rename, directory
 * force). A bad header fails the open with {@link ErrorCode#EIO}.
 *
 * <p><b>Concurrency.</b> Not thread-safe; the store calls it from one flush round at a time
 * (rounds are ordered by {@link GroupCommit}; the last one by {@code close} under the store's
 * exclusive lock), and the opener before the store exists.
 */
final class IndexLog implements AutoCloseable {
  static final int MAGIC = 0x54494458;
  static final short VERSION = 1;
  static final int HEADER_SIZE = 16;
  /** Bytes read or written per I/O call at replay and rewrite (4096 records). */
  static final int REPLAY_CHUNK = IndexRecord.SIZE * 4096;
  private static final int MAX_LOGGED_SKIPS = 10;
  private static final Logger log = LoggerFactory.getLogger(IndexLog.class);

  /** What replay does with corruption before the tail. */
  enum Recovery {
    /** Refuse to open (the default). */
    STRICT,
    /** Skip the bad records, keep the valid ones after them. */
    SALVAGE
  }

  private final Path path;
  private final long skipped;
  private DataFile file;
  private long end;
  private long records;
  private boolean directoryDirty; // a rename whose directory force has not yet succeeded
  private IOException broken; // set if a rewrite left no usable file
  private volatile ForceHook hook = ForceHook.NONE;

  private IndexLog(Path path, DataFile file, long end, long records, long skipped) {
    this.path = path;
    this.file = file;
    this.end = end;
    this.records = records;
    this.skipped = skipped;
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

  /** {@link #open(Path, Consumer, Recovery)} refusing corruption before the tail. */
  static IndexLog open(Path path, Consumer<IndexRecord> replay) throws IOException {
    return open(path, replay, Recovery.STRICT);
  }

  /**
   * Opens the log, calling {@code replay} for each valid record in order, and truncates a torn
   * tail (see the class comment).
   *
   * @throws TorusException {@link ErrorCode#EIO} for a bad header, or (with
   *     {@link Recovery#STRICT}) for a bad record followed by valid ones; the file is unchanged
   */
  static IndexLog open(Path path, Consumer<IndexRecord> replay, Recovery recovery)
      throws IOException {
    DataFile file = new DataFile(path);
    try {
      ByteBuffer head = ByteBuffer.allocate(HEADER_SIZE);
      if (file.readFully(head, 0) != HEADER_SIZE || !head.equals(header())) {
        throw new TorusException(ErrorCode.EIO, "bad index log header in " + path
            + "; refusing to open (no data was changed)");
      }
      Replay r = new Replay(path, file.size(), replay, recovery);
      ByteBuffer chunk = ByteBuffer.allocate(REPLAY_CHUNK);
      for (long pos = HEADER_SIZE; pos < r.size; pos += REPLAY_CHUNK) {
        chunk.clear();
        int n = file.readFully(chunk, pos);
        chunk.limit(n).position(0);
        for (int off = 0; off + IndexRecord.SIZE <= n; off += IndexRecord.SIZE) {
          r.slot(pos + off, IndexRecord.read(chunk, off));
        }
        if (n < REPLAY_CHUNK) {
          break;
        }
      }
      r.finish();
      if (r.validEnd < r.size) {
        log.warn("index log {}: dropping {} bytes of torn tail at byte offset {} (an"
            + " interrupted append; no valid record follows)", path, r.size - r.validEnd,
            r.validEnd);
        file.truncate(r.validEnd);
        file.force(true);
      }
      return new IndexLog(path, file, r.validEnd, r.count, r.skipped);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /** The replay state machine over the record slots, in file order. */
  private static final class Replay {
    final Path path;
    final long size;
    final Consumer<IndexRecord> replay;
    final Recovery recovery;
    long validEnd = HEADER_SIZE; // end of the last valid record
    long count;
    long skipped;
    long runStart = -1; // first slot of the current run of bad slots, or -1
    long runLength;
    long corruptAt = -1; // strict mode: first bad slot that valid records follow
    long corruptRun;
    long validAfter;
    int skipRuns;

    Replay(Path path, long size, Consumer<IndexRecord> replay, Recovery recovery) {
      this.path = path;
      this.size = size;
      this.replay = replay;
      this.recovery = recovery;
    }

    void slot(long offset, IndexRecord r) {
      if (r == null) {
        if (runStart < 0) {
          runStart = offset;
          runLength = 0;
        }
        runLength++;
        return;
      }
      if (runStart >= 0) { // a valid record after bad ones: corruption, not a torn tail
        if (recovery == Recovery.STRICT) {
          if (corruptAt < 0) {
            corruptAt = runStart;
            corruptRun = runLength;
          }
        } else {
          skip();
        }
        runStart = -1;
      }
      validEnd = offset + IndexRecord.SIZE;
      if (corruptAt >= 0) {
        validAfter++;
        return;
      }
      replay.accept(r);
      count++;
    }

    private void skip() {
      skipped += runLength;
      if (++skipRuns <= MAX_LOGGED_SKIPS) {
        log.warn("index log {}: salvage: skipping {} bad record(s) at byte offset {} and"
            + " keeping the valid records after them; the blocks they named may be lost or"
            + " come back", path, runLength, runStart);
      }
    }

    void finish() {
      if (corruptAt >= 0) {
        throw new TorusException(ErrorCode.EIO, "index log " + path + " is corrupt at byte"
            + " offset " + corruptAt + ": " + corruptRun + " bad record(s) there, and "
            + validAfter + " valid records follow (file size " + size + "); only a torn"
            + " tail can be dropped safely, so the store refuses to open (no data was"
            + " changed). To open it anyway, skipping the bad records and keeping the ones"
            + " after them, set the file store option salvageIndex=true or the system"
            + " property " + FileStoreOpener.SALVAGE_PROPERTY + "=true (see the failure"
            + " guide)");
      }
      if (skipRuns > MAX_LOGGED_SKIPS) {
        log.warn("index log {}: salvage skipped {} bad records in {} runs", path, skipped,
            skipRuns);
      }
    }
  }

  /** Sets the hook every force of the log goes through. */
  void forceHook(ForceHook hook) {
    this.hook = hook;
  }

  /** Records in the log. */
  long records() {
    return records;
  }

  /** Bad records the open skipped ({@link Recovery#SALVAGE}); the log should be rewritten. */
  long skipped() {
    return skipped;
  }

  /** Appends {@code batch} (whole records) and forces the log. */
  void append(ByteBuffer batch) throws IOException {
    if (broken != null) {
      throw new IOException("index log " + path + " is unusable after a failed rewrite",
          broken);
    }
    if (directoryDirty) { // records must not land in a file whose name may not be durable
      DurableFiles.syncDirectory(directory());
      directoryDirty = false;
    }
    int n = batch.remaining();
    file.writeFully(batch, end);
    hook.before(path);
    file.force(true);
    hook.after(path);
    end += n;
    records += n / IndexRecord.SIZE;
  }

  /**
   * Atomically replaces the log with one put record for each of {@code live}. After a crash
   * the log holds either its old records or exactly these. On an exception before the rename
   * the old log stays in use; after it, the new one does (and the directory force is retried
   * before the next append).
   */
  void rewrite(Collection<IndexRecord> live) throws IOException {
    if (broken != null) {
      throw new IOException("index log " + path + " is unusable after a failed rewrite",
          broken);
    }
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    long count = 0;
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(REPLAY_CHUNK);
      b.put(header());
      for (IndexRecord r : live) {
        if (b.remaining() < IndexRecord.SIZE) {
          drain(ch, b);
        }
        r.writeTo(b);
        count++;
      }
      drain(ch, b);
      hook.before(tmp);
      ch.force(true);
      hook.after(tmp);
    }
    Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    directoryDirty = true;
    DataFile next;
    try {
      next = new DataFile(path);
    } catch (IOException e) {
      broken = e;
      throw e;
    }
    DataFile old = file;
    file = next;
    end = HEADER_SIZE + count * IndexRecord.SIZE;
    records = count;
    try {
      old.close();
    } catch (IOException e) {
      log.debug("index log {}: closing the replaced file failed", path, e);
    }
    DurableFiles.syncDirectory(directory());
    directoryDirty = false;
  }

  private Path directory() {
    return path.toAbsolutePath().getParent();
  }

  private static void drain(FileChannel ch, ByteBuffer b) throws IOException {
    b.flip();
    while (b.hasRemaining()) {
      ch.write(b);
    }
    b.clear();
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}
