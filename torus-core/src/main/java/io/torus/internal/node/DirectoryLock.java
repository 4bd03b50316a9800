package io.torus.internal.node;

import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a node's data directory (the file {@code lock} in it), held while the
 * node runs, so two nodes (in one JVM or two) can never share one directory's stores and
 * metadata. The operating system releases it if the process dies.
 */
final class DirectoryLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private DirectoryLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Creates {@code dir} if needed and locks it; throws EPERM if another node holds it. */
  static DirectoryLock acquire(Path dir) {
    FileChannel ch = null;
    try {
      Files.createDirectories(dir);
      ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw new TorusException(ErrorCode.EPERM, "data directory " + dir
            + " is in use by another running node");
      }
      return new DirectoryLock(ch, lock);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new TorusException(ErrorCode.EIO, "cannot lock data directory " + dir + ": " + e,
          e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing more to release
      }
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException ignored) {
      // closing the channel releases it too
    }
    closeQuietly(channel);
  }
}
