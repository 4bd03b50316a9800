package io.torus.testing;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/** Block contents for tests: reproducible random bytes and their CRC32C. */
public final class Blocks {
  private Blocks() {}

  /** {@code size} random bytes from {@code seed}, in a new buffer (position 0). */
  public static ByteBuffer block(long seed, int size) {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  /** The CRC32C of the buffer's remaining bytes; its position is unchanged. */
  public static int crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return (int) c.getValue();
  }
}
