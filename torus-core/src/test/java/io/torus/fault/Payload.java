package io.torus.fault;

import java.nio.ByteBuffer;
import java.util.zip.CRC32;

/**
 * The self-identifying content of one block written by the fault suite: every read maps to
 * exactly one write, to "never written" (all zeros) or to garbage.
 *
 * <pre>
 * offset size field
 * 0      4    magic 0x54464C54 ("TFLT")
 * 4      8    volume id
 * 12     4    block index
 * 16     4    writer id (one per writer session)
 * 20     8    operation id (unique in the run)
 * 28     4    CRC32 of bytes [0, 28) and [32, blockSize)
 * 32     ...  body: splitmix64 stream seeded by (volume id, block, writer, operation),
 *             8 bytes per step, big-endian
 * </pre>
 *
 * <p>The CRC is {@code java.util.zip.CRC32} (zlib's {@code crc32}) so the Python NBD writer
 * of the long run builds the same bytes. All integers big-endian. Thread-safe (stateless).
 */
public final class Payload {
  /** "TFLT". */
  public static final int MAGIC = 0x54464C54;
  /** Header bytes before the body. */
  public static final int HEADER = 32;

  private Payload() {}

  /** What a block read back decodes to. */
  public sealed interface Value permits Zero, Written, Garbage {}

  /** All zeros: never written (or trimmed). */
  public record Zero() implements Value {
    @Override
    public String toString() {
      return "zeros";
    }
  }

  /** A valid payload of write {@code op} by writer session {@code writer}. */
  public record Written(int writer, long op) implements Value {
    @Override
    public String toString() {
      return "w" + writer + "/op" + op;
    }
  }

  /** Bytes no write of this run produced. */
  public record Garbage(String why) implements Value {
    @Override
    public String toString() {
      return "garbage(" + why + ")";
    }
  }

  /** The block of write {@code op} by {@code writer} to {@code block}. */
  public static byte[] encode(int blockSize, long volumeId, int block, int writer, long op) {
    if (blockSize < HEADER + 8 || blockSize % 8 != 0) {
      throw new IllegalArgumentException("block size: " + blockSize);
    }
    ByteBuffer b = ByteBuffer.allocate(blockSize);
    b.putInt(MAGIC).putLong(volumeId).putInt(block).putInt(writer).putLong(op).putInt(0);
    long state = seed(volumeId, block, writer, op);
    while (b.hasRemaining()) {
      state += 0x9E3779B97F4A7C15L;
      b.putLong(mix(state));
    }
    byte[] a = b.array();
    ByteBuffer.wrap(a, 28, 4).putInt(crc(a));
    return a;
  }

  /** Decodes a block read from volume {@code volumeId} at {@code block}. */
  public static Value decode(byte[] a, long volumeId, int block) {
    boolean zero = true;
    for (byte x : a) {
      if (x != 0) {
        zero = false;
        break;
      }
    }
    if (zero) {
      return new Zero();
    }
    ByteBuffer b = ByteBuffer.wrap(a);
    int magic = b.getInt();
    long vol = b.getLong();
    int blk = b.getInt();
    int writer = b.getInt();
    long op = b.getLong();
    int storedCrc = b.getInt();
    if (magic != MAGIC) {
      return new Garbage("magic " + Integer.toHexString(magic) + ", first bytes " + hex(a, 32));
    }
    if (crc(a) != storedCrc) {
      return new Garbage("crc mismatch, header says w" + writer + "/op" + op + " block " + blk
          + firstDifference(a, vol, blk, writer, op));
    }
    if (vol != volumeId || blk != block) {
      return new Garbage("payload of volume " + vol + " block " + blk + " (w" + writer + "/op"
          + op + ") read at volume " + volumeId + " block " + block);
    }
    byte[] want = encode(a.length, vol, blk, writer, op);
    if (!java.util.Arrays.equals(a, want)) {
      return new Garbage("body differs from w" + writer + "/op" + op
          + firstDifference(a, vol, blk, writer, op));
    }
    return new Written(writer, op);
  }

  private static String firstDifference(byte[] a, long vol, int blk, int writer, long op) {
    byte[] want = encode(a.length, vol, blk, writer, op);
    for (int i = 0; i < a.length; i++) {
      if (a[i] != want[i] && i != 28 && i != 29 && i != 30 && i != 31) {
        return ", first differing byte at " + i + ": " + (a[i] & 0xff) + " want "
            + (want[i] & 0xff);
      }
    }
    return "";
  }

  static int crc(byte[] a) {
    CRC32 c = new CRC32();
    c.update(a, 0, 28);
    c.update(a, 32, a.length - 32);
    return (int) c.getValue();
  }

  private static long seed(long volumeId, int block, int writer, long op) {
    return mix(mix(mix(volumeId) ^ block) ^ ((long) writer << 40) ^ op);
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Lower-case hex of the first {@code n} bytes. */
  public static String hex(byte[] a, int n) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < Math.min(n, a.length); i++) {
      s.append(Character.forDigit((a[i] >> 4) & 0xf, 16))
          .append(Character.forDigit(a[i] & 0xf, 16));
    }
    return s.toString();
  }
}
