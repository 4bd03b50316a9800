package io.torus.internal.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C (Castagnoli) helpers over buffers and arrays; never move a buffer's position. */
final class Crc32c {
  private Crc32c() {}

  /** The CRC32C of {@code buf}'s remaining bytes; the buffer's position is unchanged. */
  static int of(ByteBuffer buf) {
    CRC32C crc = new CRC32C();
    crc.update(buf.duplicate());
    return (int) crc.getValue();
  }

  /** The CRC32C of {@code len} bytes of {@code buf} starting at absolute index {@code off}. */
  static int of(ByteBuffer buf, int off, int len) {
    return of(buf.duplicate().limit(off + len).position(off));
  }

  /** The CRC32C of {@code len} bytes of {@code arr} starting at {@code off}. */
  static int of(byte[] arr, int off, int len) {
    CRC32C crc = new CRC32C();
    crc.update(arr, off, len);
    return (int) crc.getValue();
  }
}
