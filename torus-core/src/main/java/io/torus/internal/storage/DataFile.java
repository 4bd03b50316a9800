package io.torus.internal.storage;

import io.torus.ErrorCode;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One open file with positional, thread-safe reads and writes.
 *
 * <p>A {@link FileChannel} closes itself when a thread using it is interrupted, which would
 * break the whole store for every other thread. This wrapper reopens the channel when it finds
 * it closed while the store is open, and retries the operation for threads that were not
 * interrupted; the interrupted thread gets an {@link ErrorCode#EIO} error and keeps its
 * interrupt status. Reads and writes are positional, so a retry repeats exactly the same I/O.
 */
final class DataFile implements AutoCloseable {
  private static final int ATTEMPTS = 3;

  /** An I/O operation on a channel. */
  @FunctionalInterface
  interface ChannelOp<T> {
    T apply(FileChannel ch) throws IOException;
  }

  private final Path path;
  private volatile FileChannel channel;
  private volatile boolean closed;

  DataFile(Path path) throws IOException {
    this.path = path;
    this.channel = openChannel();
  }

  Path path() {
    return path;
  }

  private FileChannel openChannel() throws IOException {
    return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }

  /** Runs {@code op}, reopening the channel if an interrupt in another thread closed it. */
  <T> T io(ChannelOp<T> op) throws IOException {
    for (int attempt = 1; ; attempt++) {
      FileChannel ch = channel;
      try {
        return op.apply(ch);
      } catch (ClosedChannelException e) {
        if (closed) {
          throw new TorusClosedException("store file closed: " + path, e);
        }
        reopen(ch);
        if (Thread.currentThread().isInterrupted() || attempt >= ATTEMPTS) {
          throw new TorusException(ErrorCode.EIO, "I/O on " + path + " interrupted", e);
        }
      }
    }
  }

  private synchronized void reopen(FileChannel stale) throws IOException {
    if (channel == stale && !closed) {
      channel = openChannel();
    }
  }

  /** Reads {@code dst.remaining()} bytes at {@code pos}; returns bytes read (less at EOF). */
  int readFully(ByteBuffer dst, long pos) throws IOException {
    int start = dst.position();
    return io(ch -> {
      ByteBuffer b = dst.duplicate().position(start);
      while (b.hasRemaining()) {
        if (ch.read(b, pos + b.position() - start) < 0) {
          break;
        }
      }
      return b.position() - start;
    });
  }

  /** Writes all of {@code src}'s remaining bytes at {@code pos}; src's position is unchanged. */
  void writeFully(ByteBuffer src, long pos) throws IOException {
    int start = src.position();
    io(ch -> {
      ByteBuffer b = src.duplicate();
      while (b.hasRemaining()) {
        ch.write(b, pos + b.position() - start);
      }
      return null;
    });
  }

  /** Forces written content (and, if {@code metadata}, the file's metadata) to the device. */
  void force(boolean metadata) throws IOException {
    io(ch -> {
      ch.force(metadata);
      return null;
    });
  }

  long size() throws IOException {
    return io(FileChannel::size);
  }

  void truncate(long size) throws IOException {
    io(ch -> ch.truncate(size));
  }

  @Override
  public synchronized void close() throws IOException {
    closed = true;
    channel.close();
  }
}
