package io.torus.internal.erasure;

/**
 * Small matrices over GF(2^8) as {@code int[rows][cols]} of values 0..255: the coder's
 * generator matrix and the inverses decoding needs. Sizes are at most 256 × 256; costs are
 * the textbook ones (inversion O(n^3) field operations).
 *
 * <p>Pure: every method returns a new matrix and leaves its arguments unchanged.
 */
final class GfMatrix {
  private GfMatrix() {}

  /**
   * The systematic generator matrix of a (k, m) code, {@code (k + m) × k}: rows 0..k−1 are the
   * identity (data shards are stored unchanged), row {@code k + i} for parity shard {@code i}
   * is the Cauchy row {@code G[k + i][j] = 1 / (x_i + y_j)} with {@code x_i = k + i} and
   * {@code y_j = j}. The k + m values x and y are distinct field elements, so every square
   * submatrix of the m × k Cauchy part is invertible and hence so is every k × k submatrix
   * made of any k rows of the generator: any k shards determine the data.
   *
   * @throws IllegalArgumentException unless {@code k ≥ 1}, {@code m ≥ 0}, {@code k + m ≤ 256}
   */
  static int[][] systematicCauchy(int k, int m) {
    if (k < 1 || m < 0 || k + m > 256) {
      throw new IllegalArgumentException("no Cauchy generator for k=" + k + ", m=" + m);
    }
    int[][] g = new int[k + m][k];
    for (int j = 0; j < k; j++) {
      g[j][j] = 1;
    }
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < k; j++) {
        g[k + i][j] = Gf256.inverse(Gf256.add(k + i, j));
      }
    }
    return g;
  }

  /** The rows {@code rows[0], rows[1], ...} of {@code a}, in that order. */
  static int[][] rows(int[][] a, int[] rows) {
    int[][] r = new int[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      r[i] = a[rows[i]].clone();
    }
    return r;
  }

  /** The product {@code a · b}; {@code a}'s column count must equal {@code b}'s row count. */
  static int[][] multiply(int[][] a, int[][] b) {
    int n = b.length;
    int cols = b[0].length;
    int[][] p = new int[a.length][cols];
    for (int i = 0; i < a.length; i++) {
      for (int t = 0; t < n; t++) {
        int c = a[i][t];
        if (c == 0) {
          continue;
        }
        for (int j = 0; j < cols; j++) {
          p[i][j] ^= Gf256.mul(c, b[t][j]);
        }
      }
    }
    return p;
  }

  /**
   * The inverse of the square matrix {@code a}, by Gauss–Jordan elimination.
   *
   * @throws ArithmeticException if {@code a} is singular
   */
  static int[][] invert(int[][] a) {
    int n = a.length;
    int[][] w = new int[n][];
    int[][] inv = new int[n][n];
    for (int i = 0; i < n; i++) {
      w[i] = a[i].clone();
      inv[i][i] = 1;
    }
    for (int col = 0; col < n; col++) {
      int pivot = col;
      while (pivot < n && w[pivot][col] == 0) {
        pivot++;
      }
      if (pivot == n) {
        throw new ArithmeticException("singular matrix (column " + col + ")");
      }
      swap(w, col, pivot);
      swap(inv, col, pivot);
      int scale = Gf256.inverse(w[col][col]);
      scaleRow(w[col], scale);
      scaleRow(inv[col], scale);
      for (int r = 0; r < n; r++) {
        int f = w[r][col];
        if (r != col && f != 0) {
          addScaled(w[r], w[col], f);
          addScaled(inv[r], inv[col], f);
        }
      }
    }
    return inv;
  }

  private static void swap(int[][] a, int i, int j) {
    int[] t = a[i];
    a[i] = a[j];
    a[j] = t;
  }

  private static void scaleRow(int[] row, int c) {
    for (int j = 0; j < row.length; j++) {
      row[j] = Gf256.mul(row[j], c);
    }
  }

  /** {@code dst += f · src}. */
  private static void addScaled(int[] dst, int[] src, int f) {
    for (int j = 0; j < dst.length; j++) {
      dst[j] ^= Gf256.mul(f, src[j]);
    }
  }
}
