package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The field's tables against a shift-and-add reference multiply, and the field laws. */
class Gf256Test {

  /** Carry-less multiply reduced by 0x11D, bit by bit: independent of the tables. */
  static int referenceMul(int a, int b) {
    int p = 0;
    while (b != 0) {
      if ((b & 1) != 0) {
        p ^= a;
      }
      a <<= 1;
      if ((a & 0x100) != 0) {
        a ^= 0x11D;
      }
      b >>>= 1;
    }
    return p;
  }

  @Test
  void productTableMatchesTheReferenceMultiply() {
    for (int a = 0; a < 256; a++) {
      byte[] row = Gf256.mulRow(a);
      for (int b = 0; b < 256; b++) {
        int expected = referenceMul(a, b);
        assertThat(Gf256.mul(a, b)).as("%d * %d", a, b).isEqualTo(expected);
        assertThat(row[b] & 0xff).as("row %d [%d]", a, b).isEqualTo(expected);
      }
    }
  }

  @Test
  void knownProducts() {
    assertThat(Gf256.mul(0x53, 0xCA)).isEqualTo(0x8F);
    assertThat(Gf256.mul(0x80, 2)).isEqualTo(0x1D);
    assertThat(Gf256.inverse(2)).isEqualTo(0x8E);
    assertThat(Gf256.POLYNOMIAL).isEqualTo(0x11D);
  }

  @Test
  void twoGeneratesTheMultiplicativeGroup() {
    boolean[] seen = new boolean[256];
    for (int e = 0; e < 255; e++) {
      int x = Gf256.exp(e);
      assertThat(seen[x]).as("2^%d = %d repeats", e, x).isFalse();
      seen[x] = true;
      assertThat(Gf256.log(x)).isEqualTo(e);
      assertThat(Gf256.exp(e + 255)).isEqualTo(x);
    }
    assertThat(seen[0]).isFalse();
  }

  @Test
  void inversesAndDivision() {
    for (int a = 1; a < 256; a++) {
      assertThat(Gf256.mul(a, Gf256.inverse(a))).as("%d * 1/%d", a, a).isEqualTo(1);
      assertThat(Gf256.div(0, a)).isZero();
      for (int b = 0; b < 256; b++) {
        assertThat(Gf256.mul(Gf256.div(b, a), a)).as("%d / %d * %d", b, a, a).isEqualTo(b);
      }
    }
    assertThatThrownBy(() -> Gf256.inverse(0)).isInstanceOf(ArithmeticException.class);
    assertThatThrownBy(() -> Gf256.div(1, 0)).isInstanceOf(ArithmeticException.class);
    assertThatThrownBy(() -> Gf256.log(0)).isInstanceOf(ArithmeticException.class);
  }

  @Test
  void fieldLawsOnRandomSamples() {
    long seed = 0x5eed_6f25_6L;
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int n = 0; n < 200_000; n++) {
      int a = rnd.nextInt(256);
      int b = rnd.nextInt(256);
      int c = rnd.nextInt(256);
      String at = "seed " + seed + ", a=" + a + " b=" + b + " c=" + c;
      assertThat(Gf256.mul(a, Gf256.add(b, c)))
          .as(at).isEqualTo(Gf256.add(Gf256.mul(a, b), Gf256.mul(a, c)));
      assertThat(Gf256.mul(Gf256.mul(a, b), c)).as(at).isEqualTo(Gf256.mul(a, Gf256.mul(b, c)));
      assertThat(Gf256.mul(a, b)).as(at).isEqualTo(Gf256.mul(b, a));
    }
  }
}
