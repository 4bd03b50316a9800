package io.torus.internal.storage;

import io.torus.internal.Crc32c;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The geometry of a {@link FileBlockStore}, kept in the 28-byte file {@code store.sb}. Written
 * once, atomically, when the store is created; read at every open. Big-endian.
 *
 * <pre>
 * +-------+------+--------------------------------------------------+
 * | off   | size | field                                            |
 * +-------+------+--------------------------------------------------+
 * | 0     | 8    | magic "TORUSFBS" (54 4F 52 55 53 46 42 53)       |
 * | 8     | 2    | format version (1)                               |
 * | 10    | 2    | number of data files (unsigned)                  |
 * | 12    | 4    | allocation unit in bytes (4096)                  |
 * | 16    | 8    | units per data file                              |
 * | 24    | 4    | CRC32C of bytes 0..23                            |
 * +-------+------+--------------------------------------------------+
 * </pre>
 *
 * @param fileCount number of data files, 1..65535
 * @param unitsPerFile size of each data file in 4 KiB units, 1..2^31-1
 */
record Superblock(int fileCount, long unitsPerFile) {
  static final long MAGIC = 0x544F525553464253L;
  static final short VERSION = 1;
  static final int SIZE = 28;

  Superblock {
    if (fileCount < 1 || fileCount > 0xffff) {
      throw TorusException.invalid("data file count must be 1..65535: " + fileCount);
    }
    if (unitsPerFile < 1 || unitsPerFile > Integer.MAX_VALUE) {
      throw TorusException.invalid("units per data file must be 1..2^31-1: " + unitsPerFile
          + " (use more data files)");
    }
  }

  /** Total capacity in bytes. */
  long capacity() {
    return fileCount * unitsPerFile * FileBlockStore.UNIT;
  }

  /** Encodes into a new buffer (position 0, limit 28). */
  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    b.putLong(MAGIC).putShort(VERSION).putShort((short) fileCount)
        .putInt(FileBlockStore.UNIT).putLong(unitsPerFile);
    b.putInt(Crc32c.of(b, 0, SIZE - 4));
    return b.flip();
  }

  /**
   * Decodes a superblock.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static Superblock decode(ByteBuffer b) {
    if (b.remaining() != SIZE) {
      throw new IllegalArgumentException("size " + b.remaining() + ", expected " + SIZE);
    }
    int p = b.position();
    int stored = b.getInt(p + SIZE - 4);
    int actual = Crc32c.of(b, p, SIZE - 4);
    if (stored != actual) {
      throw new IllegalArgumentException(String.format(
          "CRC32C mismatch: stored %08x, computed %08x", stored, actual));
    }
    if (b.getLong(p) != MAGIC) {
      throw new IllegalArgumentException("bad magic");
    }
    if (b.getShort(p + 8) != VERSION) {
      throw new IllegalArgumentException("unsupported version " + b.getShort(p + 8));
    }
    if (b.getInt(p + 12) != FileBlockStore.UNIT) {
      throw new IllegalArgumentException("unsupported unit size " + b.getInt(p + 12));
    }
    try {
      return new Superblock(b.getShort(p + 10) & 0xffff, b.getLong(p + 16));
    } catch (TorusException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** Reads {@code path}; any problem is an {@link ErrorCode#EIO} error naming the file. */
  static Superblock read(Path path) {
    try {
      return decode(ByteBuffer.wrap(Files.readAllBytes(path)));
    } catch (IOException | IllegalArgumentException e) {
      throw new TorusException(ErrorCode.EIO, "cannot read store superblock " + path + ": "
          + e.getMessage() + "; refusing to open (no data was changed)", e);
    }
  }
}
