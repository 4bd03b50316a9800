package io.torus.internal.meta.local;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The head log {@code metadata.log} of a local metadata directory: the head changes (commits
 * and lock grants) made since the state file ({@link LocalStateCodec}) was last written, so a
 * flush's commit appends 76 bytes and forces once instead of rewriting the whole state.
 * Opening the service reads the state file (the checkpoint), then replays this log.
 *
 * <pre>
 * +--------+------+----------------------------------------------+
 * | offset | size | field                                        |
 * +--------+------+----------------------------------------------+
 * | 0      | 4    | magic "TRML" (0x54 0x52 0x4D 0x4C)           |
 * | 4      | 2    | format version, 1                            |
 * | 6      | 2    | record size, 76                              |
 * | 8      | 4    | reserved, 0                                  |
 * | 12     | 4    | CRC32C of bytes 0 .. 11                      |
 * | 16     | 76*n | records ({@link HeadChange}), in commit order |
 * +--------+------+----------------------------------------------+
 * </pre>
 *
 * <p><b>Replay rules.</b> A record applies if its global revision is above the checkpoint's;
 * one at or below it is a leftover of a log the checkpoint already contains (a crash between
 * writing the state file and emptying the log) and is skipped. Global revisions strictly grow
 * through the log and the applied ones continue the checkpoint's without a gap; an applied
 * record names a volume of the state and moves its head revision forward. Slots are
 * <em>bad</em> if incomplete or their length or CRC32C does not match. Bad slots after the
 * last intact record, up to the end of the file, are a <b>torn tail</b>: only an interrupted
 * append (whose committers had not returned: they return after a force that began after
 * their record was written) leaves them, and they are dropped. A bad slot followed by an
 * intact record is <b>corruption</b> (appends never leave a hole behind them), as is an intact
 * record that breaks a rule above: the open fails with {@link ErrorCode#EIO} naming the file
 * and the byte offset, and nothing is changed. A bad header is corruption too; the file is
 * created atomically (temporary file, force, rename, directory force), so it is never torn.
 *
 * <p><b>Durability.</b> Appends grow the file, so each force is {@code force(true)}
 * ({@code fsync}): the Java contract of {@code force(false)} covers only content, not the
 * size change that makes appended bytes reachable. On Linux {@code fdatasync} would have to
 * flush the size too, so the two cost the same for an append; preallocating and overwriting
 * in place would let {@code fdatasync} skip the inode, at the cost of tracking the end inside
 * the data. Emptying the log ({@link #reset}) truncates it to the header and forces it before
 * any later append, so no stale record can reappear behind new ones.
 *
 * <p><b>Group commit.</b> Appends are serialised by the service's monitor; waiting for
 * durability ({@link #awaitDurable}) is not. A waiter whose record is not yet durable either
 * waits for the force in progress or, if none is, becomes the leader: it notes the last
 * record written, forces, and marks every record up to the noted one durable. So a committer
 * returns only after a force that began after its record was written, and the records of
 * concurrent committers share one force. A failed force fails every waiter not yet durable,
 * and the log refuses every later append and wait ({@link #failure}): after a failed
 * {@code fsync} the kernel may have dropped the dirty pages, so a retried force proves
 * nothing, and a record that may or may not be durable is never reported as committed.
 *
 * <p><b>Concurrency.</b> {@link #append} and {@link #reset} are called under the service's
 * monitor; {@link #awaitDurable} from any thread without it.
 */
final class HeadLog implements AutoCloseable {
  static final int MAGIC = 0x54524D4C;
  static final short VERSION = 1;
  static final int HEADER_SIZE = 16;
  private static final int REPLAY_CHUNK = HeadChange.SIZE * 4096;
  private static final Logger log = LoggerFactory.getLogger(HeadLog.class);

  private final Path path;
  private final FileChannel channel;
  private final ByteBuffer slot = ByteBuffer.allocate(HeadChange.SIZE);
  private long end; // guarded by the service's monitor
  private volatile ForceHook hook = ForceHook.NONE;

  private final ReentrantLock sync = new ReentrantLock();
  private final Condition forced = sync.newCondition();
  private long written; // records written, ever (guarded by sync)
  private long durable; // records known durable (guarded by sync)
  private boolean forcing; // a leader is forcing (guarded by sync)
  private IOException failure; // the first failed write or force (guarded by sync)

  private HeadLog(Path path, FileChannel channel, long end) {
    this.path = path;
    this.channel = channel;
    this.end = end;
  }

  /** The 16-byte header. */
  static ByteBuffer header() {
    ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE);
    b.putInt(MAGIC).putShort(VERSION).putShort((short) HeadChange.SIZE).putInt(0);
    b.putInt(Crc32c.of(b, 0, HEADER_SIZE - 4));
    return b.flip();
  }

  /** What replay found: the state with the log applied and what the file holds. */
  record Replayed(LocalState state, long applied, long skipped, long validEnd, long size) {}

  /**
   * Reads the log at {@code path} and applies it to {@code checkpoint}; a missing log
   * applies nothing. Changes nothing on disk.
   *
   * @throws TorusException {@link ErrorCode#EIO} for corruption (see the class comment)
   */
  static Replayed replay(Path path, LocalState checkpoint) throws IOException {
    if (!Files.exists(path)) {
      return new Replayed(checkpoint, 0, 0, 0, 0);
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer head = ByteBuffer.allocate(HEADER_SIZE);
      readFully(ch, head, 0);
      if (head.flip().remaining() != HEADER_SIZE || !head.equals(header())) {
        throw corrupt(path, 0, "bad header (file size " + size + ")");
      }
      Replay r = new Replay(path, checkpoint);
      ByteBuffer chunk = ByteBuffer.allocate(REPLAY_CHUNK);
      for (long pos = HEADER_SIZE; pos < size; pos += REPLAY_CHUNK) {
        chunk.clear();
        readFully(ch, chunk, pos);
        chunk.flip();
        for (int off = 0; off < chunk.limit(); off += HeadChange.SIZE) {
          r.slot(pos + off, chunk, off);
        }
      }
      return new Replayed(r.state, r.applied, r.skipped, r.validEnd, size);
    }
  }

  /** The replay state machine over the record slots, in file order. */
  private static final class Replay {
    final Path path;
    final long checkpointRevision;
    LocalState state;
    long validEnd = HEADER_SIZE;
    long badAt = -1; // first bad slot after the last intact record, or -1
    long last = -1; // global revision of the last intact record
    long applied;
    long skipped;

    Replay(Path path, LocalState checkpoint) {
      this.path = path;
      this.state = checkpoint;
      this.checkpointRevision = checkpoint.revision();
    }

    void slot(long offset, ByteBuffer chunk, int off) {
      if (!HeadChange.intact(chunk, off)) {
        if (badAt < 0) {
          badAt = offset;
        }
        return;
      }
      if (badAt >= 0) {
        throw corrupt(path, badAt, "bad record (length or CRC32C) followed by an intact one"
            + " at byte offset " + offset + "; only a torn tail can be dropped safely, so the"
            + " service refuses to open (nothing was changed)");
      }
      HeadChange c;
      try {
        c = HeadChange.read(chunk, off);
      } catch (IllegalArgumentException | TorusException e) {
        throw corrupt(path, offset, "invalid record: " + e.getMessage());
      }
      apply(offset, c);
      last = c.globalRevision();
      validEnd = offset + HeadChange.SIZE;
    }

    private void apply(long offset, HeadChange c) {
      if (c.globalRevision() <= last) {
        throw corrupt(path, offset, "global revision " + c.globalRevision()
            + " does not grow (previous record: " + last + ")");
      }
      if (c.globalRevision() <= checkpointRevision) {
        skipped++; // already in the checkpoint
        return;
      }
      if (c.globalRevision() != state.revision() + 1) {
        throw corrupt(path, offset, "global revision " + c.globalRevision() + " does not"
            + " follow " + state.revision() + (applied == 0 ? " (the state file's)" : ""));
      }
      VolumeRecord v = state.byId(c.volumeId());
      if (v == null || c.revision() <= v.revision()) {
        throw corrupt(path, offset, "record " + c + " does not apply to "
            + (v == null ? "any volume of the state" : "volume '" + v.name() + "' at head"
            + " revision " + v.revision()));
      }
      state = state.withHead(c);
      applied++;
    }
  }

  /**
   * Opens the log for appending at {@code end}, creating it (atomically, with just the
   * header) if it does not exist. The caller has replayed it.
   */
  static HeadLog open(Path path, long end) throws IOException {
    if (!Files.exists(path)) {
      Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        writeFully(ch, header(), 0);
        ch.force(true);
      }
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
      LocalStateFile.syncDirectory(path.toAbsolutePath().getParent());
      end = HEADER_SIZE;
    }
    return new HeadLog(path, FileChannel.open(path, StandardOpenOption.WRITE), end);
  }

  /** Sets the hook every force of the log goes through. */
  void forceHook(ForceHook h) {
    this.hook = h;
  }

  /** The log's length in bytes (header included). */
  long bytes() {
    return end;
  }

  /** Whether the log holds any record (or a torn tail not yet dropped). */
  boolean hasRecords() {
    return end > HEADER_SIZE;
  }

  /**
   * Writes {@code c} at the end of the log, without forcing it.
   *
   * @return the record's sequence number, for {@link #awaitDurable}
   * @throws IOException if the write fails (the log is then failed: the end of the file is
   *     unknown) or the log failed before
   */
  long append(HeadChange c) throws IOException {
    checkNotFailed();
    slot.clear();
    c.writeTo(slot);
    try {
      writeFully(channel, slot.flip(), end);
    } catch (IOException e) {
      fail(e);
      throw e;
    }
    end += HeadChange.SIZE;
    sync.lock();
    try {
      return ++written;
    } finally {
      sync.unlock();
    }
  }

  /**
   * Returns once record {@code seq} is durable, forcing the log if no force that covers it
   * is in progress (see the class comment).
   *
   * @throws IOException if a force failed before the record was durable
   */
  void awaitDurable(long seq) throws IOException {
    sync.lock();
    try {
      while (durable < seq) {
        if (failure != null) {
          throw new IOException("head log " + path + " failed to force: " + failure, failure);
        }
        if (forcing) {
          forced.awaitUninterruptibly();
          continue;
        }
        forcing = true;
        long target = written;
        IOException err = null;
        sync.unlock();
        try {
          force();
        } catch (IOException e) {
          err = e;
        } catch (RuntimeException e) {
          err = new IOException(e);
        } finally {
          sync.lock();
        }
        forcing = false;
        if (err == null) {
          durable = Math.max(durable, target);
        } else if (failure == null) {
          failure = err;
        }
        forced.signalAll();
      }
    } finally {
      sync.unlock();
    }
  }

  private void force() throws IOException {
    ForceHook h = hook;
    h.before(path);
    channel.force(true);
    h.after(path);
  }

  /**
   * Marks every record written so far durable: the state file just written contains them.
   * Waiters return.
   */
  void checkpointed() {
    sync.lock();
    try {
      durable = written;
      forced.signalAll();
    } finally {
      sync.unlock();
    }
  }

  /**
   * Empties the log (truncates it to the header) and forces it; call after
   * {@link #checkpointed}.
   */
  void reset() throws IOException {
    checkNotFailed();
    try {
      if (channel.size() > HEADER_SIZE) {
        channel.truncate(HEADER_SIZE);
      }
      force();
    } catch (IOException e) {
      fail(e);
      throw e;
    }
    end = HEADER_SIZE;
  }

  /** The failure that stopped the log, or {@code null}. */
  IOException failure() {
    sync.lock();
    try {
      return failure;
    } finally {
      sync.unlock();
    }
  }

  private void checkNotFailed() throws IOException {
    IOException f = failure();
    if (f != null) {
      throw new IOException("head log " + path + " failed earlier: " + f, f);
    }
  }

  private void fail(IOException e) {
    sync.lock();
    try {
      if (failure == null) {
        failure = e;
      }
      forced.signalAll();
    } finally {
      sync.unlock();
    }
  }

  /** The path of the log. */
  Path path() {
    return path;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** Logs a dropped torn tail. */
  static void warnTornTail(Path path, long validEnd, long size) {
    log.warn("head log {}: dropping {} bytes of torn tail at byte offset {} (an interrupted"
        + " append; no intact record follows)", path, size - validEnd, validEnd);
  }

  private static TorusException corrupt(Path path, long offset, String why) {
    return new TorusException(ErrorCode.EIO, "corrupt local metadata log " + path
        + " at byte offset " + offset + ": " + why);
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos + b.position());
      if (n < 0) {
        return;
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    long at = pos;
    while (b.hasRemaining()) {
      at += ch.write(b, at);
    }
  }
}
