package io.torus.internal.erasure;

/**
 * Arithmetic in GF(2^8), the field of the Reed–Solomon coder: bytes are polynomials over
 * GF(2) of degree below 8, added by XOR and multiplied modulo the primitive polynomial
 * {@link #POLYNOMIAL} x^8 + x^4 + x^3 + x^2 + 1 (0x11D), for which x (the byte 2) generates
 * the multiplicative group.
 *
 * <p>The tables are built once, at class initialization: {@code exp} (doubled to 510 entries
 * so a product of two logs needs no reduction), {@code log}, the multiplicative inverses and
 * the full 256 × 256 product table {@link #MUL} (64 KiB, row {@code a} at {@code a << 8}), from
 * which the coder's loops take one 256-byte row per coefficient.
 *
 * <p>Pure and immutable after initialization; thread-safe. Values are passed as {@code int}s
 * in 0..255; methods do not check their range.
 */
final class Gf256 {
  /** The primitive polynomial x^8 + x^4 + x^3 + x^2 + 1, bit i = coefficient of x^i. */
  static final int POLYNOMIAL = 0x11D;

  private static final int[] EXP = new int[510];
  private static final int[] LOG = new int[256];
  private static final int[] INV = new int[256];
  /** {@code MUL[(a << 8) | b] = a · b}. */
  private static final byte[] MUL = new byte[256 * 256];

  static {
    int x = 1;
    for (int i = 0; i < 255; i++) {
      EXP[i] = x;
      EXP[i + 255] = x;
      LOG[x] = i;
      x <<= 1;
      if (x >= 256) {
        x ^= POLYNOMIAL;
      }
    }
    for (int a = 1; a < 256; a++) {
      INV[a] = EXP[255 - LOG[a]];
      for (int b = 1; b < 256; b++) {
        MUL[(a << 8) | b] = (byte) EXP[LOG[a] + LOG[b]];
      }
    }
  }

  private Gf256() {}

  /** a + b (and a − b): XOR. */
  static int add(int a, int b) {
    return a ^ b;
  }

  /** a · b, from the product table. */
  static int mul(int a, int b) {
    return MUL[(a << 8) | b] & 0xff;
  }

  /** a / b; {@code b} must not be 0. */
  static int div(int a, int b) {
    if (b == 0) {
      throw new ArithmeticException("division by zero in GF(2^8)");
    }
    return a == 0 ? 0 : EXP[LOG[a] + 255 - LOG[b]];
  }

  /** The multiplicative inverse of {@code a}; {@code a} must not be 0. */
  static int inverse(int a) {
    if (a == 0) {
      throw new ArithmeticException("0 has no inverse in GF(2^8)");
    }
    return INV[a];
  }

  /** x^e for 0 ≤ e < 510 (the generator 2 raised to {@code e}). */
  static int exp(int e) {
    return EXP[e];
  }

  /** The discrete logarithm of {@code a} to the base 2; {@code a} must not be 0. */
  static int log(int a) {
    if (a == 0) {
      throw new ArithmeticException("log of 0 in GF(2^8)");
    }
    return LOG[a];
  }

  /**
   * A copy of the products {@code c · b} for b = 0..255 (row {@code c} of the product table):
   * the lookup table the coder's loops use for the coefficient {@code c}.
   */
  static byte[] mulRow(int c) {
    byte[] row = new byte[256];
    System.arraycopy(MUL, c << 8, row, 0, 256);
    return row;
  }
}
