package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The generator's construction and the property decoding relies on: every k × k submatrix of
 * the (k + m) × k generator is invertible.
 */
class GfMatrixTest {

  @Test
  void generatorIsIdentityOverCauchyRows() {
    int[][] g = GfMatrix.systematicCauchy(4, 2);
    assertThat(g).hasDimensions(6, 4);
    for (int r = 0; r < 4; r++) {
      for (int c = 0; c < 4; c++) {
        assertThat(g[r][c]).isEqualTo(r == c ? 1 : 0);
      }
    }
    // 1 / ((k + i) XOR j), computed independently (see ReedSolomonGoldenTest).
    assertThat(g[4]).containsExactly(71, 167, 122, 186);
    assertThat(g[5]).containsExactly(167, 71, 186, 122);
  }

  @Test
  void refusesUnsupportedShapes() {
    assertThatThrownBy(() -> GfMatrix.systematicCauchy(0, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GfMatrix.systematicCauchy(200, 57))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(GfMatrix.systematicCauchy(200, 56)).hasDimensions(256, 200);
  }

  /** Exhaustive over all k-subsets of the rows for every k + m ≤ 12. */
  @Test
  void everySquareSubmatrixIsInvertibleForSmallCodes() {
    for (int n = 2; n <= 12; n++) {
      for (int k = 1; k < n; k++) {
        int[][] g = GfMatrix.systematicCauchy(k, n - k);
        for (int mask = 0; mask < 1 << n; mask++) {
          if (Integer.bitCount(mask) == k) {
            assertInvertible(g, rowsOf(mask, n), k, n - k);
          }
        }
      }
    }
  }

  /** Random k-subsets over the whole supported range, up to k + m = 256. */
  @Test
  void randomSquareSubmatricesAreInvertibleUpToTheLimit() {
    long seed = 14L;
    SplittableRandom rnd = new SplittableRandom(seed);
    int[][] shapes = {{10, 4}, {17, 3}, {32, 32}, {128, 128}, {1, 255}, {255, 1}, {200, 56}};
    for (int[] shape : shapes) {
      int k = shape[0];
      int n = k + shape[1];
      int[][] g = GfMatrix.systematicCauchy(k, shape[1]);
      int tries = k > 64 ? 4 : 40;
      for (int t = 0; t < tries; t++) {
        assertInvertible(g, randomSubset(rnd, n, k), k, shape[1]);
      }
    }
  }

  @Test
  void invertingASingularMatrixFails() {
    assertThatThrownBy(() -> GfMatrix.invert(new int[][] {{1, 2}, {2, 4}}))
        .isInstanceOf(ArithmeticException.class);
  }

  private static void assertInvertible(int[][] g, int[] rows, int k, int m) {
    int[][] sub = GfMatrix.rows(g, rows);
    int[][] product = GfMatrix.multiply(sub, GfMatrix.invert(sub));
    boolean identity = true;
    for (int r = 0; r < k; r++) {
      for (int c = 0; c < k; c++) {
        identity &= product[r][c] == (r == c ? 1 : 0);
      }
    }
    if (!identity) {
      throw new AssertionError("k=" + k + " m=" + m + " rows "
          + java.util.Arrays.toString(rows) + ": M * M^-1 is not the identity");
    }
  }

  static int[] rowsOf(int mask, int n) {
    int[] rows = new int[Integer.bitCount(mask)];
    int i = 0;
    for (int r = 0; r < n; r++) {
      if ((mask & (1 << r)) != 0) {
        rows[i++] = r;
      }
    }
    return rows;
  }

  private static int[] randomSubset(SplittableRandom rnd, int n, int k) {
    int[] all = new int[n];
    for (int i = 0; i < n; i++) {
      all[i] = i;
    }
    for (int i = 0; i < k; i++) {
      int j = i + rnd.nextInt(n - i);
      int t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    int[] rows = java.util.Arrays.copyOf(all, k);
    java.util.Arrays.sort(rows);
    return rows;
  }
}
