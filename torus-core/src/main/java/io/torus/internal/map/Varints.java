package io.torus.internal.map;

import io.torus.CorruptBlockException;
import java.nio.ByteBuffer;

/**
 * Base-128 varints (protobuf's wire form: 7 bits a byte, low group first, the high bit set on
 * every byte but the last) and their zigzag form for signed numbers, as version 2 map nodes
 * pack their entries. Protobuf itself stays behind the transport (STYLE.md).
 */
public final class Varints {
  private Varints() {}

  /** Appends {@code v} (read as unsigned) to {@code out}. */
  public static void putUnsigned(ByteBuffer out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  /** Appends {@code v} zigzag-coded. */
  public static void putSigned(ByteBuffer out, long v) {
    putUnsigned(out, (v << 1) ^ (v >> 63));
  }

  /** Reads an unsigned varint; throws {@link CorruptBlockException} (with {@code what}). */
  public static long getUnsigned(ByteBuffer in, String what) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!in.hasRemaining()) {
        throw new CorruptBlockException(what + ": truncated");
      }
      byte b = in.get();
      v |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        if (shift == 63 && (b & 0x7F) > 1) {
          break;
        }
        return v;
      }
    }
    throw new CorruptBlockException(what + ": varint longer than 64 bits");
  }

  /** Reads a zigzag-coded varint. */
  public static long getSigned(ByteBuffer in, String what) {
    long z = getUnsigned(in, what);
    return (z >>> 1) ^ -(z & 1);
  }
}
