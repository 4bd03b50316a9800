package io.torus.internal.meta;

import io.torus.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The binary form of {@link LocalState}, the file {@code metadata} of a local metadata
 * directory. Big-endian throughout.
 *
 * <pre>
 * File
 * +--------+------+--------------------------------------------------------------+
 * | offset | size | field                                                        |
 * +--------+------+--------------------------------------------------------------+
 * | 0      | 4    | magic "TRMD" (0x54 0x52 0x4D 0x44)                           |
 * | 4      | 2    | format version, 1                                            |
 * | 6      | 2    | flags, 0                                                     |
 * | 8      | 4    | body length B                                                |
 * | 12     | B    | body                                                         |
 * | 12+B   | 4    | CRC32C of bytes 0 .. 12+B-1                                  |
 * +--------+------+--------------------------------------------------------------+
 * The file is exactly 16+B bytes long.
 *
 * Body
 * +------+-------------------------------------------------------------------------+
 * | size | field                                                                   |
 * +------+-------------------------------------------------------------------------+
 * | 8    | next volume id (ids are never reused)                                   |
 * | 8    | last revision handed out (head revisions and lock epochs)               |
 * | 4    | volume count N                                                          |
 * | ...  | N volume entries, sorted by name                                        |
 * +------+-------------------------------------------------------------------------+
 *
 * Volume entry
 * +------+-------------------------------------------------------------------------+
 * | 8    | volume id                                                               |
 * | 2    | name length L (1..128)                                                  |
 * | L    | name, ASCII                                                             |
 * | 8    | size in bytes                                                           |
 * | 4    | block size in bytes                                                     |
 * | 1    | replication                                                             |
 * | 8    | created: seconds since the epoch                                        |
 * | 4    | created: nanoseconds                                                    |
 * | 8    | head generation                                                         |
 * | 8    | head revision                                                           |
 * | 1    | root present: 0 (all holes) or 1                                        |
 * | 24   | root BlockRef (see {@link BlockRef}), only when present                 |
 * +------+-------------------------------------------------------------------------+
 * </pre>
 *
 * <p>Decoding checks the magic, version, length, CRC and every field; any mismatch is an
 * {@link ErrorCode#EIO} error naming the file and what is wrong.
 */
final class LocalStateCodec {
  /** "TRMD". */
  static final int MAGIC = 0x54524D44;
  /** The only format version written and read. */
  static final int VERSION = 1;
  static final int HEADER_BYTES = 12;
  static final int TRAILER_BYTES = 4;

  private LocalStateCodec() {}

  /** The file bytes of {@code state}. */
  static byte[] encode(LocalState state) {
    int body = 20;
    for (VolumeRecord v : state.volumes().values()) {
      body += 8 + 2 + v.name().length() + 8 + 4 + 1 + 8 + 4 + 8 + 8 + 1
          + (v.root() == null ? 0 : BlockRef.BYTES);
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + body + TRAILER_BYTES);
    b.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(body);
    b.putLong(state.nextVolumeId()).putLong(state.revision());
    b.putInt(state.volumes().size());
    for (VolumeRecord v : state.volumes().values()) {
      byte[] name = v.name().getBytes(StandardCharsets.US_ASCII);
      b.putLong(v.id()).putShort((short) name.length).put(name);
      b.putLong(v.size()).putInt(v.blockSize()).put((byte) v.replication());
      b.putLong(v.created().getEpochSecond()).putInt(v.created().getNano());
      b.putLong(v.generation()).putLong(v.revision());
      if (v.root() == null) {
        b.put((byte) 0);
      } else {
        b.put((byte) 1);
        v.root().writeTo(b);
      }
    }
    b.putInt(crc(b.array(), HEADER_BYTES + body));
    return b.array();
  }

  /**
   * Decodes file bytes.
   *
   * @param source what to name in error messages (the file's path)
   * @throws TorusException {@link ErrorCode#EIO} if the bytes are not a valid state
   */
  static LocalState decode(byte[] bytes, String source) {
    if (bytes.length < HEADER_BYTES + TRAILER_BYTES) {
      throw corrupt(source, "file too short (" + bytes.length + " bytes), torn write?");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int magic = b.getInt();
    if (magic != MAGIC) {
      throw corrupt(source, String.format("bad magic 0x%08x", magic));
    }
    int version = b.getShort() & 0xffff;
    if (version != VERSION) {
      throw corrupt(source, "unsupported format version " + version + " (this build reads "
          + VERSION + ")");
    }
    b.getShort();
    long body = b.getInt() & 0xffffffffL;
    if (HEADER_BYTES + body + TRAILER_BYTES != bytes.length) {
      throw corrupt(source, "length mismatch: header says " + body + "-byte body, file has "
          + bytes.length + " bytes, torn write?");
    }
    int stored = ByteBuffer.wrap(bytes, bytes.length - TRAILER_BYTES, TRAILER_BYTES).getInt();
    int actual = crc(bytes, bytes.length - TRAILER_BYTES);
    if (stored != actual) {
      throw corrupt(source, String.format("CRC32C mismatch: stored 0x%08x, computed 0x%08x",
          stored, actual));
    }
    b.limit(bytes.length - TRAILER_BYTES);
    try {
      return decodeBody(b);
    } catch (BufferUnderflowException e) {
      throw corrupt(source, "body ends early", e);
    } catch (TorusException | DateTimeException e) {
      throw corrupt(source, e.getMessage(), e);
    }
  }

  private static LocalState decodeBody(ByteBuffer b) {
    long nextId = b.getLong();
    long revision = b.getLong();
    int count = b.getInt();
    if (nextId < 1 || revision < 0 || count < 0) {
      throw TorusException.invalid("bad counters: next id " + nextId + ", revision " + revision
          + ", volumes " + count);
    }
    TreeMap<String, VolumeRecord> volumes = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      VolumeRecord v = decodeVolume(b);
      if (v.id() >= nextId || v.revision() > revision || volumes.put(v.name(), v) != null) {
        throw TorusException.invalid("inconsistent volume entry " + i + ": " + v);
      }
    }
    if (b.hasRemaining()) {
      throw TorusException.invalid(b.remaining() + " trailing bytes after the last volume");
    }
    return new LocalState(nextId, revision, volumes);
  }

  private static VolumeRecord decodeVolume(ByteBuffer b) {
    long id = b.getLong();
    int len = b.getShort() & 0xffff;
    byte[] name = new byte[len];
    b.get(name);
    long size = b.getLong();
    int blockSize = b.getInt();
    int replication = b.get() & 0xff;
    Instant created = Instant.ofEpochSecond(b.getLong(), b.getInt());
    long generation = b.getLong();
    long revision = b.getLong();
    int hasRoot = b.get();
    BlockRef root;
    if (hasRoot == 0) {
      root = null;
    } else if (hasRoot == 1) {
      root = BlockRef.readFrom(b);
    } else {
      throw TorusException.invalid("root flag " + hasRoot);
    }
    // Validates name, size, block size and replication the same way a new volume is.
    VolumeSpec spec = new VolumeSpec(new String(name, StandardCharsets.US_ASCII), size,
        blockSize, replication);
    if (id < 1 || generation < 0 || revision < 0) {
      throw TorusException.invalid("id " + id + ", generation " + generation
          + ", revision " + revision);
    }
    return new VolumeRecord(id, spec.name(), size, blockSize, replication, created, root,
        generation, revision);
  }

  private static int crc(byte[] bytes, int len) {
    CRC32C c = new CRC32C();
    c.update(bytes, 0, len);
    return (int) c.getValue();
  }

  private static TorusException corrupt(String source, String why) {
    return corrupt(source, why, null);
  }

  private static TorusException corrupt(String source, String why, Throwable cause) {
    return new TorusException(ErrorCode.EIO, "corrupt local metadata file " + source + ": "
        + why, cause);
  }
}
