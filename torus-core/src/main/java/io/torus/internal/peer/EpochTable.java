package io.torus.internal.peer;

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
import java.util.HashMap;
import java.util.Map;

/**
 * The highest fencing epoch a peer has accepted per volume, persisted so that a restart
 * cannot let a stale writer back in.
 *
 * <p>File format ({@code epochs}, replaced atomically as a whole; big-endian):
 * <pre>
 * +--------+-------+--------------------------------+--------+
 * | 0..3   | 4..7  | count x 16 bytes               | last 4 |
 * | "TEPO" | count | u64 volumeId | u64 epoch       | crc32c |
 * +--------+-------+--------------------------------+--------+
 * </pre>
 *
 * <p>Concurrency: {@link #admit} is synchronized; a raised epoch is on disk before it
 * returns, so a put acknowledged under epoch E means E survives a crash of the peer.
 * Without a file (in-memory peers) epochs live as long as the process.
 */
final class EpochTable {
  private static final int MAGIC = 0x5445504F;
  private final Path file;
  private final Map<Long, Long> epochs = new HashMap<>();

  /** @param file where to persist, or null to keep epochs in memory only */
  EpochTable(Path file) {
    this.file = file;
    if (file != null && Files.exists(file)) {
      load();
    }
  }

  private void load() {
    try {
      ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
      if (b.limit() < 12 || b.getInt() != MAGIC
          || Crc32c.of(b.array(), 0, b.limit() - 4) != b.getInt(b.limit() - 4)) {
        throw new TorusException(ErrorCode.EIO, "epoch table " + file + " is corrupt");
      }
      int n = b.getInt();
      for (int i = 0; i < n; i++) {
        epochs.put(b.getLong(), b.getLong());
      }
    } catch (IOException | RuntimeException e) {
      throw e instanceof TorusException ? (TorusException) e
          : new TorusException(ErrorCode.EIO, "cannot read epoch table " + file + ": " + e, e);
    }
  }

  /**
   * Accepts {@code epoch} for a volume if it is not lower than the highest seen, recording
   * (and persisting) it if it is higher. Returns false for a stale epoch.
   */
  synchronized boolean admit(long volumeId, long epoch) {
    long seen = epochs.getOrDefault(volumeId, 0L);
    if (epoch < seen) {
      return false;
    }
    if (epoch > seen) {
      epochs.put(volumeId, epoch);
      try {
        persist();
      } catch (IOException e) {
        epochs.put(volumeId, seen);
        throw new TorusException(ErrorCode.EIO, "cannot persist epoch table " + file, e);
      }
    }
    return true;
  }

  /** The highest epoch seen for a volume, 0 if none. */
  synchronized long highest(long volumeId) {
    return epochs.getOrDefault(volumeId, 0L);
  }

  private void persist() throws IOException {
    if (file == null) {
      return;
    }
    ByteBuffer b = ByteBuffer.allocate(12 + 16 * epochs.size());
    b.putInt(MAGIC).putInt(epochs.size());
    epochs.forEach((v, e) -> b.putLong(v).putLong(e));
    b.putInt(Crc32c.of(b.array(), 0, b.position())).flip();
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(file.toAbsolutePath().getParent(),
        StandardOpenOption.READ)) {
      dir.force(true);
    }
  }
}
