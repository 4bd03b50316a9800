package io.torus.internal.storage;

import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import java.nio.ByteBuffer;

/**
 * One 40-byte record of the {@link IndexLog}: a block was stored at a location, or deleted.
 * All integers big-endian; a delete record has zero location fields.
 *
 * <pre>
 * +-------+------+--------------------------------------------------+
 * | off   | size | field                                            |
 * +-------+------+--------------------------------------------------+
 * | 0     | 24   | BlockRef, binary form                            |
 * | 24    | 1    | type: 1 = put, 2 = delete                        |
 * | 25    | 1    | reserved, 0                                      |
 * | 26    | 2    | data file number (unsigned)                      |
 * | 28    | 4    | first 4 KiB unit of the extent in that file      |
 * | 32    | 4    | payload length in bytes                          |
 * | 36    | 4    | CRC32C of bytes 0..35                            |
 * +-------+------+--------------------------------------------------+
 * </pre>
 *
 * @param ref the block
 * @param location where it is stored, or {@code null} for a delete record
 */
record IndexRecord(BlockRef ref, Location location) {
  static final int SIZE = 40;
  static final byte PUT = 1;
  static final byte DELETE = 2;

  /** Whether this records a put (else a delete). */
  boolean isPut() {
    return location != null;
  }

  /** Writes the 40-byte record at {@code out}'s position, advancing it. */
  void writeTo(ByteBuffer out) {
    int start = out.position();
    ref.writeTo(out);
    out.put(isPut() ? PUT : DELETE).put((byte) 0);
    if (isPut()) {
      out.putShort((short) location.file()).putInt(location.unit()).putInt(location.length());
    } else {
      out.putShort((short) 0).putInt(0).putInt(0);
    }
    out.putInt(Crc32c.of(out, start, SIZE - 4));
  }

  /**
   * Decodes the record at {@code in}'s absolute index {@code off}, or returns {@code null} if
   * the bytes there are not a valid record (torn or garbage).
   */
  static IndexRecord read(ByteBuffer in, int off) {
    if (in.limit() - off < SIZE || in.getInt(off + SIZE - 4) != Crc32c.of(in, off, SIZE - 4)) {
      return null;
    }
    BlockRef ref;
    try {
      ref = BlockRef.readFrom(in.duplicate().position(off));
    } catch (TorusException e) {
      return null;
    }
    byte type = in.get(off + 24);
    if (type == DELETE) {
      return new IndexRecord(ref, null);
    }
    if (type != PUT) {
      return null;
    }
    int file = in.getShort(off + 26) & 0xffff;
    return new IndexRecord(ref, new Location(file, in.getInt(off + 28), in.getInt(off + 32)));
  }
}
