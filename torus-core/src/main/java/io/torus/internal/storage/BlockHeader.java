package io.torus.internal.storage;

import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import java.nio.ByteBuffer;

/**
 * The 48-byte header in front of every block in a {@link FileBlockStore} data file. All
 * integers big-endian. The payload follows at byte 48; the extent is zero-padded or left
 * unwritten up to the next 4 KiB unit.
 *
 * <pre>
 * +-------+------+--------------------------------------------------+
 * | off   | size | field                                            |
 * +-------+------+--------------------------------------------------+
 * | 0     | 4    | magic 0x54424C4B ("TBLK")                        |
 * | 4     | 2    | format version (1)                               |
 * | 6     | 2    | header size (48)                                 |
 * | 8     | 24   | BlockRef, binary form                            |
 * | 32    | 4    | payload length in bytes                          |
 * | 36    | 4    | CRC32C of the payload                            |
 * | 40    | 4    | reserved, 0                                      |
 * | 44    | 4    | CRC32C of bytes 0..43                            |
 * | 48    | n    | payload                                          |
 * +-------+------+--------------------------------------------------+
 * </pre>
 */
final class BlockHeader {
  static final int MAGIC = 0x54424C4B;
  static final short VERSION = 1;
  static final int SIZE = 48;

  /** A decoded header. */
  record Parsed(BlockRef ref, int length, int payloadCrc) {}

  private BlockHeader() {}

  /** Writes the 48-byte header at {@code out}'s position, advancing it. */
  static void write(ByteBuffer out, BlockRef ref, int length, int payloadCrc) {
    int start = out.position();
    out.putInt(MAGIC).putShort(VERSION).putShort((short) SIZE);
    ref.writeTo(out);
    out.putInt(length).putInt(payloadCrc).putInt(0);
    out.putInt(Crc32c.of(out, start, SIZE - 4));
  }

  /** Encodes a header into a new buffer (position 0, limit 48). */
  static ByteBuffer encode(BlockRef ref, int length, int payloadCrc) {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    write(b, ref, length, payloadCrc);
    return b.flip();
  }

  /**
   * Decodes the header at {@code in}'s absolute index {@code off}.
   *
   * @throws IllegalArgumentException naming what is wrong, if the bytes are not a valid header
   */
  static Parsed read(ByteBuffer in, int off) {
    if (in.limit() - off < SIZE) {
      throw new IllegalArgumentException("short header: " + (in.limit() - off) + " bytes");
    }
    int stored = in.getInt(off + SIZE - 4);
    int actual = Crc32c.of(in, off, SIZE - 4);
    if (stored != actual) {
      throw new IllegalArgumentException(String.format(
          "header CRC32C mismatch: stored %08x, computed %08x", stored, actual));
    }
    if (in.getInt(off) != MAGIC) {
      throw new IllegalArgumentException(String.format("bad magic %08x", in.getInt(off)));
    }
    short version = in.getShort(off + 4);
    if (version != VERSION || in.getShort(off + 6) != SIZE) {
      throw new IllegalArgumentException("unsupported header version " + version);
    }
    try {
      BlockRef ref = BlockRef.readFrom(in.duplicate().position(off + 8));
      return new Parsed(ref, in.getInt(off + 32), in.getInt(off + 36));
    } catch (TorusException e) {
      throw new IllegalArgumentException("bad block ref: " + e.getMessage(), e);
    }
  }

  /**
   * Why {@code buf} (header plus payload from index 0 to its limit, as read from disk) is not
   * the block {@code ref} of {@code length} payload bytes, or {@code null} if it is.
   */
  static String check(BlockRef ref, int length, ByteBuffer buf, int bytesRead) {
    if (bytesRead < buf.limit()) {
      return "short read: " + bytesRead + " of " + buf.limit() + " bytes";
    }
    Parsed h;
    try {
      h = read(buf, 0);
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    if (!h.ref().equals(ref)) {
      return "header names another block, " + h.ref();
    }
    if (h.length() != length) {
      return "header length " + h.length() + ", index length " + length;
    }
    int actual = Crc32c.of(buf, SIZE, length);
    if (actual != h.payloadCrc()) {
      return String.format("payload CRC32C mismatch: stored %08x, computed %08x",
          h.payloadCrc(), actual);
    }
    return null;
  }
}
