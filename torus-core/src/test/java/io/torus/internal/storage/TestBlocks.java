package io.torus.internal.storage;

import java.util.Random;
import java.util.zip.CRC32C;

/** Deterministic block contents for store tests. */
final class TestBlocks {
  private TestBlocks() {}

  /** {@code len} pseudo-random bytes determined by {@code seed}. */
  static byte[] bytes(int len, long seed) {
    byte[] b = new byte[len];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** CRC32C of an array. */
  static int crc(byte[] b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return (int) c.getValue();
  }
}
