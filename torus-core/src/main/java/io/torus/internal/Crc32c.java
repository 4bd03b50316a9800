package io.torus.internal;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * The one place that computes CRC32C (Castagnoli), the checksum of every block, index record,
 * superblock, ring and state file: over buffers (never moving their position), over arrays,
 * and as a running {@link Checksum} for streams.
 *
 * <p>Pure; thread-safe (each call uses its own {@link CRC32C}). The {@code int} results are
 * the low 32 bits of {@link CRC32C#getValue()}, the form every format stores.
 */
public final class Crc32c {
  private Crc32c() {}

  /** The CRC32C of {@code buf}'s remaining bytes; the buffer's position is unchanged. */
  public static int of(ByteBuffer buf) {
    CRC32C crc = new CRC32C();
    crc.update(buf.duplicate());
    return (int) crc.getValue();
  }

  /** The CRC32C of {@code len} bytes of {@code buf} starting at absolute index {@code off}. */
  public static int of(ByteBuffer buf, int off, int len) {
    return of(buf.duplicate().limit(off + len).position(off));
  }

  /** The CRC32C of every byte of {@code arr}. */
  public static int of(byte[] arr) {
    return of(arr, 0, arr.length);
  }

  /** The CRC32C of {@code len} bytes of {@code arr} starting at {@code off}. */
  public static int of(byte[] arr, int off, int len) {
    CRC32C crc = new CRC32C();
    crc.update(arr, off, len);
    return (int) crc.getValue();
  }

  /**
   * A new running CRC32C, for {@link java.util.zip.CheckedInputStream} and
   * {@link java.util.zip.CheckedOutputStream}; {@code (int) getValue()} is the checksum so far.
   * Not thread-safe (one per stream).
   */
  public static Checksum running() {
    return new CRC32C();
  }
}
