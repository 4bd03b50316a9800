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
 * {@link LocalStateCodec}), {@code metadata.tmp} (a state being written) and
 * {@code metadata.lock} (held with an OS file lock while a process has the directory open).
 *
 * <p>Failure: a state is written whole to {@code metadata.tmp}, forced to disk, renamed
 * atomically over {@code metadata}, and the directory is forced; a crash at any point leaves
 * either the old or the new state. A leftover {@code metadata.tmp} is an unfinished write and
 * is removed on open. A missing {@code metadata} with no other file is a fresh store; a
 * damaged one is an error, never a silent reset.
 *
 * <p>Not thread-safe; the owning service serialises calls.
 */
final class LocalStateFile implements AutoCloseable {
  static final String STATE = "metadata";
  static final String TEMP = "metadata.tmp";
  static final String LOCK = "metadata.lock";

  private final Path dir;
  private final Path state;
  private final Path temp;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private LocalStateFile(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.state = dir.resolve(STATE);
    this.temp = dir.resolve(TEMP);
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Opens (creating if needed) the directory and takes its process lock.
   *
   * @throws TorusException {@link ErrorCode#EPERM} if another process or service has it open,
   *     {@link ErrorCode#EIO} on an I/O error
   */
  static LocalStateFile open(Path dir) {
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
      LocalStateFile f = new LocalStateFile(dir, ch, l);
      Files.deleteIfExists(f.temp);
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

  /** The stored state, or {@link LocalState#EMPTY} if none was ever written. */
  LocalState read() {
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

  /** Replaces the stored state durably and atomically. */
  void write(LocalState s) {
    byte[] bytes = LocalStateCodec.encode(s);
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(temp, state, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot write local metadata file " + state
          + ": " + e, e);
    }
  }

  /** The path of the state file. */
  Path path() {
    return state;
  }

  @Override
  public void close() {
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
