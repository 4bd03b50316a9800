package io.torus.internal.peer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.internal.storage.DurableFiles;
import io.torus.internal.storage.GroupCommit;
import io.torus.internal.transport.JournalRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A peer's copy of the volumes' flush journals: per volume, the entries (opaque bytes, the
 * map changes of one flush) with a generation above the volume's checkpoint, in memory and
 * sorted by generation, persisted in an append-only log ({@code journal.log}).
 *
 * <p>Log record (big-endian; see src-docs/formats.md, "Peer flush journal"):
 * <pre>
 * +--------+------+----------+-------+------------+------------+--------+--------+--------+
 * | 0..3   | 4    | 5..12    | 13..20| 21..28     | 29..36     | 37..40 | 41..   | last 4 |
 * | "TJNL" | type | volumeId | epoch | generation | checkpoint | length | bytes  | crc32c |
 * +--------+------+----------+-------+------------+------------+--------+--------+--------+
 * type 1 = entry, 2 = checkpoint only (length 0, generation 0); crc32c over all before it.
 * </pre>
 * Replaying a record drops the volume's entries at or below its checkpoint, then (type 1)
 * holds the entry. The file is preallocated with zeros up to 1 MiB ahead of the last record
 * (so an append's force rarely changes the file's size); replay stops at a zero magic.
 *
 * <p><b>Invariants.</b> A volume's held entries all have generations above its checkpoint;
 * an append's generation is above every held one and above the checkpoint (or re-appends a
 * held entry with identical bytes, acknowledged without writing); memory changes only after
 * the record is forced, so memory never shows an entry that is not durable.
 *
 * <p><b>Atomicity</b> (the safety core). For one volume, the epoch check and the durable
 * append of {@link #append}, and the epoch admit and the read of {@link #fence}, run under the
 * volume's lock: the caller's {@code admit} runs first inside it, then the write and force,
 * or the read. So once a fence with epoch E has returned, no append with an epoch below E can
 * complete (its admit runs after E was admitted and refuses it), and every append that
 * completed before it is in its answer.
 *
 * <p><b>Concurrency.</b> Thread-safe. Appends of different volumes write their records under
 * a short file lock and share one {@code force} ({@link GroupCommit}); lock order is volume
 * lock, then the compaction gate (read side), then the file lock. Compaction takes the gate's
 * write side, so it runs while no append is between write and memory update.
 *
 * <p><b>Failure.</b> A failed write or force fails that append and, like the file store after
 * a failed fsync, every later append (EIO); fences and reads are still served from memory. An
 * append that failed may still be on disk and reappear after a restart: a writer treats a
 * failed append as unknown. On open, a torn or invalid record with no valid record after it
 * is a crash's tail and is truncated; one followed by a valid record is corruption (EIO
 * naming the file). Limit: a crash in the middle of a group write on a disk that reorders
 * page writes can leave a torn record followed by a whole one; that is reported as
 * corruption rather than guessed at.
 *
 * <p><b>Compaction.</b> When the file exceeds 16 MiB and the live entries' records are under
 * a quarter of it, it is rewritten with one checkpoint record per volume with a checkpoint
 * and the live entries (temp file, force, atomic rename, directory force). A failure before
 * the rename keeps the old file; a failed directory force refuses later appends.
 *
 * <p><b>Bounds.</b> An entry is at most 1 MiB (EINVAL); a volume holds at most 4096 entries
 * (ENOSPC: the writer must checkpoint).
 */
final class JournalTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalTable.class);
  static final int MAGIC = 0x544A4E4C; // "TJNL"
  static final byte ENTRY = 1;
  static final byte CHECKPOINT = 2;
  /** Bytes before a record's entry bytes. */
  static final int HEADER = 41;
  /** Bytes of a record besides its entry bytes. */
  static final int OVERHEAD = HEADER + 4;
  static final int MAX_ENTRY_BYTES = 1 << 20;
  static final int MAX_ENTRIES = 4096;
  static final long COMPACT_BYTES = 16L << 20;
  static final int PREALLOCATE = 1 << 20;

  private final Path file;
  private final long compactBytes;
  private final BeforeForce beforeForce;
  private final ConcurrentHashMap<Long, Volume> volumes = new ConcurrentHashMap<>();
  private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
  private final Object fileLock = new Object();
  private final GroupCommit commits = new GroupCommit();
  /** Record bytes of the held entries: what a compaction would keep. */
  private final AtomicLong liveBytes = new AtomicLong();
  private FileChannel channel; // replaced only under gate's write lock
  private long end; // guarded by fileLock: where the next record goes
  private long allocated; // guarded by fileLock: the file's size (zeros past end)
  private volatile String refusal; // why appends are refused, or null

  /** A held entry and the epoch it was appended under (kept for compaction). */
  private record Held(byte[] bytes, long epoch) {}

  /**
   * One volume's journal; read and changed under its own monitor (the volume lock), and with a
   * file changed only under the gate's read lock too (so a compaction may read it without).
   */
  private static final class Volume {
    long checkpoint;
    final TreeMap<Long, Held> entries = new TreeMap<>();
  }

  /**
   * Opens the table, replaying {@code file} if it exists.
   *
   * @param file the log, or null to keep entries in memory only
   * @throws TorusException EIO if the file cannot be read or is corrupt
   */
  JournalTable(Path file) {
    this(file, COMPACT_BYTES);
  }

  /** With another compaction threshold (tests). */
  JournalTable(Path file, long compactBytes) {
    this(file, compactBytes, () -> { });
  }

  /** Runs before each append's force; an exception fails the force (fault tests). */
  @FunctionalInterface
  interface BeforeForce {
    void run() throws IOException;
  }

  /** With another compaction threshold and a hook before each force (tests). */
  JournalTable(Path file, long compactBytes, BeforeForce beforeForce) {
    this.file = file;
    this.compactBytes = compactBytes;
    this.beforeForce = beforeForce;
    if (file != null) {
      open();
    }
  }

  private void open() {
    try {
      ByteBuffer b = Files.exists(file) ? ByteBuffer.wrap(Files.readAllBytes(file))
          : ByteBuffer.allocate(0);
      int pos = replay(b);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      if (channel.size() > pos) {
        if (b.limit() > pos && b.get(pos) != 0) {
          log.warn("journal {}: truncating a torn record at offset {} ({} bytes)", file, pos,
              b.limit() - pos);
        }
        channel.truncate(pos);
        channel.force(true);
      }
      end = pos;
      allocated = pos;
    } catch (IOException e) {
      close();
      throw new TorusException(ErrorCode.EIO, "cannot open journal " + file + ": " + e, e);
    }
  }

  /** Applies every valid record of {@code b}; returns where the valid records end. */
  private int replay(ByteBuffer b) {
    int pos = 0;
    while (pos < b.limit()) {
      int n = recordAt(b, pos);
      if (n < 0) {
        int next = validAfter(b, pos);
        if (next >= 0) {
          throw new TorusException(ErrorCode.EIO, "journal " + file + " is corrupt: invalid"
              + " record at offset " + pos + " followed by a valid one at offset " + next);
        }
        break;
      }
      apply(b, pos);
      pos += n;
    }
    return pos;
  }

  /** The size of the valid record at {@code pos}, or -1 (torn, zero, bad checksum). */
  static int recordAt(ByteBuffer b, int pos) {
    if (b.limit() - pos < OVERHEAD || b.getInt(pos) != MAGIC) {
      return -1;
    }
    byte type = b.get(pos + 4);
    int length = b.getInt(pos + 37);
    if ((type != ENTRY && type != CHECKPOINT) || length < 0 || length > MAX_ENTRY_BYTES
        || (type == CHECKPOINT && length != 0) || b.limit() - pos - OVERHEAD < length) {
      return -1;
    }
    int crc = b.getInt(pos + HEADER + length);
    return Crc32c.of(b, pos, HEADER + length) == crc ? OVERHEAD + length : -1;
  }

  /** The offset of a valid record after {@code pos}, or -1 if there is none. */
  private static int validAfter(ByteBuffer b, int pos) {
    for (int q = pos + 1; q <= b.limit() - OVERHEAD; q++) {
      if (b.get(q) == 'T' && recordAt(b, q) > 0) {
        return q;
      }
    }
    return -1;
  }

  private void apply(ByteBuffer b, int pos) {
    long volumeId = b.getLong(pos + 5);
    long epoch = b.getLong(pos + 13);
    long generation = b.getLong(pos + 21);
    long checkpoint = b.getLong(pos + 29);
    Volume v = volumes.computeIfAbsent(volumeId, k -> new Volume());
    prune(v, Math.max(v.checkpoint, checkpoint));
    if (b.get(pos + 4) == ENTRY && generation > v.checkpoint) {
      byte[] bytes = new byte[b.getInt(pos + 37)];
      b.get(pos + HEADER, bytes);
      Held old = v.entries.put(generation, new Held(bytes, epoch));
      liveBytes.addAndGet(OVERHEAD + bytes.length - (old == null ? 0 : size(old)));
    }
  }

  /** One record's bytes, ready to write. */
  static ByteBuffer record(byte type, long volumeId, long epoch, long generation,
      long checkpoint, byte[] bytes) {
    ByteBuffer b = ByteBuffer.allocate(OVERHEAD + bytes.length);
    b.putInt(MAGIC).put(type).putLong(volumeId).putLong(epoch).putLong(generation)
        .putLong(checkpoint).putInt(bytes.length).put(bytes);
    b.putInt(Crc32c.of(b.array(), 0, b.position()));
    return b.flip();
  }

  /**
   * Appends an entry to a volume's journal; returns once it is durable (forced), or once
   * {@code admit} accepted an identical re-append of a held entry. {@code admit} runs first,
   * under the volume's lock (see the class comment).
   *
   * @param entry the entry's remaining bytes; copied, not kept
   * @param admit checks the epoch; throws to refuse (nothing is written then)
   * @throws TorusException EINVAL for a generation that does not move forward or an entry
   *     over 1 MiB, ENOSPC for a volume holding 4096 entries, EIO for a failed write or
   *     force, or after one
   */
  void append(long volumeId, long epoch, long generation, long checkpoint, ByteBuffer entry,
      Runnable admit) {
    if (entry.remaining() > MAX_ENTRY_BYTES) {
      throw TorusException.invalid("journal entry of " + entry.remaining() + " bytes for "
          + "volume " + volumeId + " exceeds " + MAX_ENTRY_BYTES + " bytes");
    }
    if (generation <= checkpoint || generation <= 0) {
      throw TorusException.invalid("journal entry of volume " + volumeId + ": generation "
          + generation + " must be > 0 and above the checkpoint " + checkpoint);
    }
    Volume v = volumes.computeIfAbsent(volumeId, k -> new Volume());
    synchronized (v) {
      admit.run();
      Held held = v.entries.get(generation);
      if (held != null && ByteBuffer.wrap(held.bytes).equals(entry)) {
        return; // a retry of a durable append
      }
      check(volumeId, v, generation, checkpoint);
      byte[] bytes = new byte[entry.remaining()];
      entry.duplicate().get(bytes);
      Runnable hold = () -> {
        prune(v, Math.max(v.checkpoint, checkpoint));
        v.entries.put(generation, new Held(bytes, epoch));
        liveBytes.addAndGet(OVERHEAD + bytes.length);
      };
      if (file != null) {
        durable(record(ENTRY, volumeId, epoch, generation, checkpoint, bytes), hold);
      } else if (refusal != null) {
        throw refused();
      } else {
        hold.run();
      }
    }
    maybeCompact();
  }

  private static void check(long volumeId, Volume v, long generation, long checkpoint) {
    if (generation <= v.checkpoint) {
      throw TorusException.invalid("journal entry of volume " + volumeId + ": generation "
          + generation + " is at or below the volume's checkpoint " + v.checkpoint);
    }
    if (!v.entries.isEmpty() && generation <= v.entries.lastKey()) {
      throw TorusException.invalid("journal entry of volume " + volumeId + ": generation "
          + generation + " is not above the last held generation " + v.entries.lastKey()
          + " (or differs from the entry held under it)");
    }
    long after = Math.max(v.checkpoint, checkpoint);
    int keep = v.entries.tailMap(after, false).size();
    if (keep >= MAX_ENTRIES) {
      throw new TorusException(ErrorCode.ENOSPC, "journal of volume " + volumeId + " holds "
          + keep + " entries above checkpoint " + after + ", the most a peer keeps: the "
          + "writer must checkpoint before appending more");
    }
  }

  /** Drops a volume's entries at or below {@code checkpoint} and records it as the volume's. */
  private void prune(Volume v, long checkpoint) {
    Map<Long, Held> dropped = v.entries.headMap(checkpoint, true);
    for (Held h : dropped.values()) {
      liveBytes.addAndGet(-size(h));
    }
    dropped.clear();
    v.checkpoint = checkpoint;
  }

  private static long size(Held h) {
    return OVERHEAD + h.bytes.length;
  }

  /**
   * Admits a fence (the caller's {@code admit}, under the volume's lock), then answers every
   * entry held for the volume above {@code after}, ascending. The arrays are the held ones
   * (read-only).
   */
  List<JournalRecord> fence(long volumeId, long after, Runnable admit) {
    Volume v = volumes.computeIfAbsent(volumeId, k -> new Volume());
    synchronized (v) {
      admit.run();
      List<JournalRecord> out = new ArrayList<>();
      v.entries.tailMap(after, false).forEach((g, h) -> out.add(new JournalRecord(g, h.bytes)));
      return out;
    }
  }

  /** The volume's checkpoint as this table holds it (0 if none). */
  long checkpoint(long volumeId) {
    Volume v = volumes.get(volumeId);
    if (v == null) {
      return 0;
    }
    synchronized (v) {
      return v.checkpoint;
    }
  }

  /**
   * Writes a record at the end of the log, waits for a force covering it, then runs
   * {@code hold} (the memory update) still under the gate's read lock, so a compaction sees
   * either neither or both.
   */
  private void durable(ByteBuffer rec, Runnable hold) {
    gate.readLock().lock();
    try {
      if (refusal != null) {
        throw refused();
      }
      synchronized (fileLock) {
        try {
          long at = end;
          if (at + rec.remaining() > allocated) {
            long to = at + rec.remaining() + PREALLOCATE;
            ByteBuffer zeros = ByteBuffer.allocate((int) (to - Math.max(allocated, at)));
            writeFully(zeros, Math.max(allocated, at));
            allocated = to;
          }
          writeFully(rec, at);
          end = at + rec.limit();
        } catch (IOException e) {
          throw fail("cannot write journal " + file + ": " + e, e);
        }
      }
      commits.commit(this::force, () -> {
        if (refusal != null) {
          throw refused();
        }
      });
      hold.run();
    } finally {
      gate.readLock().unlock();
    }
  }

  private void writeFully(ByteBuffer b, long at) throws IOException {
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) {
      at += channel.write(d, at);
    }
  }

  private void force() {
    try {
      beforeForce.run();
      channel.force(false);
    } catch (IOException e) {
      throw fail("cannot force journal " + file + ": " + e, e);
    }
  }

  private TorusException fail(String why, Throwable cause) {
    if (refusal == null) {
      refusal = why;
      log.error("{}; refusing further journal appends", why);
    }
    return new TorusException(ErrorCode.EIO, why, cause);
  }

  private TorusException refused() {
    return new TorusException(ErrorCode.EIO, "journal " + file + " refuses appends: "
        + refusal);
  }

  private void maybeCompact() {
    if (file == null || refusal != null || !due()) {
      return;
    }
    gate.writeLock().lock();
    try {
      if (refusal == null && due()) {
        compact();
      }
    } finally {
      gate.writeLock().unlock();
    }
  }

  private boolean due() {
    long size;
    synchronized (fileLock) {
      size = end;
    }
    return size > compactBytes && liveBytes.get() * 4 < size;
  }

  /** Rewrites the log with the live state; runs under the gate's write lock. */
  private void compact() {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    long size = 0;
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      for (Map.Entry<Long, Volume> e : volumes.entrySet()) {
        Volume v = e.getValue();
        // no volume lock (an append holds it while waiting for the gate): the gate's write
        // lock keeps every append out of its memory update, so the volume stands still
        if (v.checkpoint > 0) {
          size += write(out, record(CHECKPOINT, e.getKey(), 0, 0, v.checkpoint, new byte[0]));
        }
        for (Map.Entry<Long, Held> h : v.entries.entrySet()) {
          size += write(out, record(ENTRY, e.getKey(), h.getValue().epoch, h.getKey(),
              v.checkpoint, h.getValue().bytes));
        }
      }
      out.force(true);
    } catch (IOException e) {
      log.warn("journal {}: compaction failed, keeping the old file: {}", file, e.toString());
      deleteQuietly(tmp);
      return;
    }
    FileChannel fresh;
    try {
      fresh = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      log.warn("journal {}: compaction failed, keeping the old file: {}", file, e.toString());
      deleteQuietly(tmp);
      return;
    }
    try {
      Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("journal {}: compaction failed, keeping the old file: {}", file, e.toString());
      closeQuietly(fresh);
      deleteQuietly(tmp);
      return;
    }
    FileChannel old = channel;
    channel = fresh;
    synchronized (fileLock) {
      log.info("journal {}: compacted {} bytes to {}", file, end, size);
      end = size;
      allocated = size;
    }
    closeQuietly(old);
    try {
      DurableFiles.syncDirectory(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      fail("cannot force the directory of journal " + file + " after compaction: " + e, e);
    }
  }

  private static int write(FileChannel out, ByteBuffer r) throws IOException {
    int n = r.remaining();
    while (r.hasRemaining()) {
      out.write(r);
    }
    return n;
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // a stale temp file is overwritten by the next compaction
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing is pending on a channel we leave: every append on it was forced
    }
  }

  /** Closes the log; later appends fail (EIO), fences are still answered from memory. */
  @Override
  public void close() {
    gate.writeLock().lock();
    try {
      if (refusal == null) {
        refusal = "the journal is closed";
      }
      if (channel != null) {
        closeQuietly(channel);
      }
    } finally {
      gate.writeLock().unlock();
    }
  }

  /** Entries held for a volume (tests). */
  int size(long volumeId) {
    Volume v = volumes.get(volumeId);
    if (v == null) {
      return 0;
    }
    synchronized (v) {
      return v.entries.size();
    }
  }

  /** The log's length up to its last record (tests). */
  long logBytes() {
    synchronized (fileLock) {
      return end;
    }
  }
}
