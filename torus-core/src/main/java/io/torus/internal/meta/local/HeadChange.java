package io.torus.internal.meta.local;

import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;

/**
 * One head change of a volume (a commit or a lock grant), as one record of the head log
 * ({@link HeadLog}). Big-endian, one fixed-size slot per record:
 *
 * <pre>
 * +--------+------+-------------------------------------------------------------+
 * | offset | size | field                                                       |
 * +--------+------+-------------------------------------------------------------+
 * | 0      | 4    | record length, 76 (the whole record, CRC included)          |
 * | 4      | 1    | record type, 1 = head change                                |
 * | 5      | 1    | root present: 0 (all holes) or 1                            |
 * | 6      | 2    | reserved, 0                                                 |
 * | 8      | 8    | volume id (>= 1)                                            |
 * | 16     | 8    | head generation (>= 0)                                      |
 * | 24     | 8    | head revision                                               |
 * | 32     | 8    | reserved generation (>= head generation)                    |
 * | 40     | 8    | last revision handed out after the change (the state's)     |
 * | 48     | 24   | root BlockRef (see {@link BlockRef}); zeros when absent     |
 * | 72     | 4    | CRC32C of bytes 0 .. 71                                     |
 * +--------+------+-------------------------------------------------------------+
 * </pre>
 *
 * @param volumeId the volume
 * @param root the new root, or {@code null} for an all-holes volume
 * @param generation the new head generation
 * @param revision the new head revision
 * @param reserved the new reserved generation
 * @param globalRevision the service's last revision handed out once the change is applied
 */
record HeadChange(long volumeId, BlockRef root, long generation, long revision, long reserved,
    long globalRevision) {
  /** Bytes of one record. */
  static final int SIZE = 76;
  /** The record type of a head change. */
  static final int TYPE_HEAD = 1;
  private static final int CRC_AT = SIZE - 4;
  private static final int ROOT_AT = 48;
  private static final int ROOT_BYTES = 24;

  /** Writes the record at {@code out}'s position and advances it by {@link #SIZE}. */
  void writeTo(ByteBuffer out) {
    int start = out.position();
    out.putInt(SIZE).put((byte) TYPE_HEAD).put((byte) (root == null ? 0 : 1)).putShort((short) 0);
    out.putLong(volumeId).putLong(generation).putLong(revision).putLong(reserved)
        .putLong(globalRevision);
    if (root == null) {
      out.put(new byte[ROOT_BYTES]);
    } else {
      root.writeTo(out);
    }
    out.putInt(Crc32c.of(out, start, CRC_AT));
  }

  /** The record's bytes. */
  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    writeTo(b);
    return b.flip();
  }

  /**
   * Whether the {@link #SIZE} bytes at {@code off} are a whole record with the right length
   * and a matching CRC (a torn or damaged slot is not).
   */
  static boolean intact(ByteBuffer b, int off) {
    return b.limit() - off >= SIZE && b.getInt(off) == SIZE
        && b.getInt(off + CRC_AT) == Crc32c.of(b, off, CRC_AT);
  }

  /**
   * Decodes an {@link #intact} record.
   *
   * @throws IllegalArgumentException naming the bad field if the record is intact but its
   *     fields are not valid (no torn write produces that; it is damage or a bug)
   */
  static HeadChange read(ByteBuffer b, int off) {
    int type = b.get(off + 4);
    int hasRoot = b.get(off + 5);
    int pad = b.getShort(off + 6);
    if (type != TYPE_HEAD || (hasRoot & ~1) != 0 || pad != 0) {
      throw new IllegalArgumentException("record type " + type + ", root flag " + hasRoot
          + ", reserved " + pad);
    }
    long volumeId = b.getLong(off + 8);
    long generation = b.getLong(off + 16);
    long revision = b.getLong(off + 24);
    long reserved = b.getLong(off + 32);
    long global = b.getLong(off + 40);
    BlockRef root = null;
    ByteBuffer r = b.duplicate().position(off + ROOT_AT).limit(off + ROOT_AT + ROOT_BYTES);
    if (hasRoot == 1) {
      root = BlockRef.readFrom(r);
    } else if (!r.equals(ByteBuffer.allocate(ROOT_BYTES))) {
      throw new IllegalArgumentException("root bytes set with no root present");
    }
    if (volumeId < 1 || generation < 0 || reserved < generation || revision < 1
        || global < revision) {
      throw new IllegalArgumentException("volume " + volumeId + ", generation " + generation
          + ", revision " + revision + ", reserved " + reserved + ", global revision "
          + global);
    }
    return new HeadChange(volumeId, root, generation, revision, reserved, global);
  }
}
