package io.torus.internal.meta.local;

import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The files of a local metadata directory: {@code metadata} (the state, see
 * {@link LocalStateCodec}), {@code metadata.tmp} (a state being written), {@code metadata.log}
 * (the head changes since the state was written, see {@link HeadLog}) and
 * {@code metadata.lock} (held with an OS file lock while a process has the directory open).
 *
 * <p>Invariants: the state file plus the records of the log above its revision are the
 * current state. A head change (commit, lock grant) is appended to the log and forced
 * ({@link #append}, {@link #awaitDurable}); any other change, and a head change once the log
 * holds {@code maxLogBytes}, rewrites the state ({@link #write}: a checkpoint), which then
 * empties the log. Opening replays the log and, if it held anything, checkpoints at once, so
 * an open service always starts with an empty log. Closing checkpoints too.
 *
 * <p>Failure: a state is written whole to {@code metadata.tmp}, forced to disk, renamed
 * atomically over {@code metadata}, and the directory is forced; a crash at any point leaves
 * either the old or the new state, and a log that the old one needs or the new one skips
 * (its records are at or below the new state's revision). A leftover {@code metadata.tmp} is
 * an unfinished write and is removed on open. A missing {@code metadata} with no other file is
 * a fresh store; a damaged one is an error, never a silent reset. A write that fails before
 * the rename changed nothing; one that fails at or after it, like a failed write or force of
 * the log, leaves the files in a state this process cannot know, so the directory is then
 * <em>broken</em>: every later change fails with {@link ErrorCode#EIO} until it is reopened
 * (which reads whatever reached the disk).
 *
 * <p>Concurrency: {@link #awaitDurable} and {@link #checkWritable} may be called from any
 * thread; everything else under the owning service's monitor.
 */
final class LocalStateFile implements AutoCloseable {
  static final String STATE = "metadata";
  static final String TEMP = "metadata.tmp";
  static final String LOG = "metadata.log";
  static final String LOCK = "metadata.lock";
  /** The default bound of the log before a head change checkpoints instead (4 MiB). */
  static final long MAX_LOG_BYTES = 4 << 20;

  private final Path dir;
  private final Path state;
  private final Path temp;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final long maxLogBytes;
  private HeadLog log;
  private volatile TorusException broken;

  private LocalStateFile(Path dir, FileChannel lockChannel, FileLock lock, long maxLogBytes) {
    this.dir = dir;
    this.state = dir.resolve(STATE);
    this.temp = dir.resolve(TEMP);
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.maxLogBytes = maxLogBytes;
  }

  /**
   * Opens (creating if needed) the directory and takes its process lock.
   *
   * @param maxLogBytes the log's bound, at least one record past the header
   * @throws TorusException {@link ErrorCode#EPERM} if another process or service has it open,
   *     {@link ErrorCode#EIO} on an I/O error
   */
  static LocalStateFile open(Path dir, long maxLogBytes) {
    if (maxLogBytes < HeadLog.HEADER_SIZE + HeadChange.SIZE) {
      throw TorusException.invalid("log bound below one record: " + maxLogBytes);
    }
    FileChannel ch = null;
    try {
      Files.createDirectories(dir);
      ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock l;
      try {
        l = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        l = null;
      }
      if (l == null) {
        throw new TorusException(ErrorCode.EPERM,
            "local metadata directory " + dir + " is in use by another service or process");
      }
      LocalStateFile f = new LocalStateFile(dir, ch, l, maxLogBytes);
      Files.deleteIfExists(f.temp);
      Files.deleteIfExists(dir.resolve(LOG + ".tmp"));
      return f;
    } catch (IOException e) {
      closeQuietly(ch);
      throw new TorusException(ErrorCode.EIO, "cannot open local metadata directory " + dir
          + ": " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /**
   * Reads the state and replays the log over it, drops a torn tail, checkpoints if the log
   * held anything, and opens the log for appending. Call once, first.
   *
   * @return the current state ({@link LocalState#EMPTY} if none was ever written)
   * @throws TorusException {@link ErrorCode#EIO} if the state or the log is damaged (naming
   *     the file and, for the log, the byte offset) or cannot be read
   */
  LocalState recover() {
    LocalState checkpoint = read();
    Path logPath = dir.resolve(LOG);
    try {
      HeadLog.Replayed r = HeadLog.replay(logPath, checkpoint);
      if (r.validEnd() < r.size()) {
        HeadLog.warnTornTail(logPath, r.validEnd(), r.size());
      }
      log = HeadLog.open(logPath, r.size());
      if (r.size() > HeadLog.HEADER_SIZE) {
        write(r.state());
      }
      return r.state();
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot recover local metadata log " + logPath
          + ": " + e, e);
    }
  }

  private LocalState read() {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(state);
    } catch (NoSuchFileException e) {
      return LocalState.EMPTY;
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot read local metadata file " + state
          + ": " + e, e);
    }
    return LocalStateCodec.decode(bytes, state.toString());
  }

  /** Sets the hook every force of the log goes through. */
  void forceHook(ForceHook hook) {
    log.forceHook(hook);
  }

  /**
   * Throws if the directory is broken (see the class comment).
   *
   * @throws TorusException {@link ErrorCode#EIO} naming the failure
   */
  void checkWritable() {
    TorusException b = broken;
    if (b == null && log != null && log.failure() != null) {
      b = brokenBy(log.failure());
    }
    if (b != null) {
      throw new TorusException(ErrorCode.EIO, b.getMessage(), b);
    }
  }

  /** Whether a head change fits in the log (otherwise it goes to a checkpoint). */
  boolean logHasRoom() {
    return log.bytes() + HeadChange.SIZE <= maxLogBytes;
  }

  /** Whether the log holds records the state file does not. */
  boolean hasLog() {
    return log.hasRecords();
  }

  /**
   * Appends a head change to the log, not yet durable.
   *
   * @return the sequence number to pass to {@link #awaitDurable}
   * @throws TorusException {@link ErrorCode#EIO} if the directory is or becomes broken
   */
  long append(HeadChange c) {
    checkWritable();
    try {
      return log.append(c);
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Returns once the appended change {@code seq} is durable (group commit, see
   * {@link HeadLog}).
   *
   * @throws TorusException {@link ErrorCode#EIO} if the log failed first
   */
  void awaitDurable(long seq) {
    try {
      log.awaitDurable(seq);
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Replaces the stored state durably and atomically (a checkpoint), then empties the log:
   * every change appended so far is in {@code s}.
   *
   * @throws TorusException {@link ErrorCode#EIO} if the write fails; if it failed after the
   *     rename the directory is broken
   */
  void write(LocalState s) {
    checkWritable();
    byte[] bytes = LocalStateCodec.encode(s);
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot write local metadata file " + state
          + ": " + e, e);
    }
    try {
      Files.move(temp, state, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
      log.checkpointed();
      log.reset();
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /** Forces a directory's entries (a rename in it) to disk. */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  private TorusException fail(IOException e) {
    TorusException b = brokenBy(e);
    if (broken == null) {
      broken = b;
    }
    return b;
  }

  private TorusException brokenBy(IOException e) {
    return new TorusException(ErrorCode.EIO, "local metadata in " + dir + " may not be"
        + " durable after a failed write or force (" + e + "); it refuses changes until it is"
        + " reopened", e);
  }

  /** Whether the directory is broken (see the class comment). */
  boolean isBroken() {
    return broken != null || (log != null && log.failure() != null);
  }

  /** The path of the state file. */
  Path path() {
    return state;
  }

  /** The path of the log file. */
  Path logPath() {
    return dir.resolve(LOG);
  }

  @Override
  public void close() {
    if (log != null) {
      try {
        log.close();
      } catch (IOException ignored) {
        // Nothing was pending: the service checkpoints before closing.
      }
    }
    try {
      lock.release();
    } catch (IOException ignored) {
      // Closing the channel below releases it too.
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // Nothing useful to do; the OS releases the lock with the process.
      }
    }
  }
}
