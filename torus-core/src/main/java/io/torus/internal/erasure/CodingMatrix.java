package io.torus.internal.erasure;

/**
 * A coefficient matrix ready to run over shards: output shard {@code o} becomes
 * {@code sum over j of c[o][j] · input_j}, byte by byte over a range of the shards.
 *
 * <p>Encoding uses the parity rows of the generator; decoding, the rows of the missing shards
 * expressed over the k shards it reads. Each non-trivial coefficient has its 256-byte row of
 * the product table, so the loops do one table load per input byte and output shard and no
 * call; coefficients 0 and 1 need no table (skip, XOR). The range is processed in
 * {@link #CHUNK}-byte pieces so the pieces of all inputs stay in the CPU's L1/L2 caches while
 * every output row reads them.
 *
 * <p>Immutable after construction; thread-safe. {@link #apply} checks nothing: the caller
 * ({@link ReedSolomon}) has validated shard counts and ranges.
 */
final class CodingMatrix {
  /** Bytes of each shard processed per pass over all output rows. */
  static final int CHUNK = 16 * 1024;

  private final int[][] coefficients;
  /** {@code tables[o][j]}: row {@code coefficients[o][j]} of the product table, or null. */
  private final byte[][][] tables;

  CodingMatrix(int[][] coefficients) {
    this.coefficients = new int[coefficients.length][];
    this.tables = new byte[coefficients.length][][];
    for (int o = 0; o < coefficients.length; o++) {
      this.coefficients[o] = coefficients[o].clone();
      tables[o] = new byte[coefficients[o].length][];
      for (int j = 0; j < coefficients[o].length; j++) {
        int c = coefficients[o][j];
        tables[o][j] = c > 1 ? Gf256.mulRow(c) : null;
      }
    }
  }

  /** The number of output shards. */
  int outputs() {
    return coefficients.length;
  }

  /** Coefficient of input {@code j} in output {@code o}. */
  int coefficient(int o, int j) {
    return coefficients[o][j];
  }

  /**
   * Sets {@code outputs[o][offset, offset + length)} to its combination of the same range of
   * {@code inputs}, for every output row {@code o}.
   */
  void apply(byte[][] inputs, byte[][] outputs, int offset, int length) {
    int end = offset + length;
    for (int from = offset; from < end; from += CHUNK) {
      int to = Math.min(end, from + CHUNK);
      for (int o = 0; o < outputs.length; o++) {
        row(o, inputs, outputs[o], from, to);
      }
    }
  }

  private void row(int o, byte[][] inputs, byte[] out, int from, int to) {
    int[] c = coefficients[o];
    byte[][] t = tables[o];
    boolean first = true;
    for (int j = 0; j < inputs.length; j++) {
      if (c[j] == 0) {
        continue;
      }
      if (first) {
        if (c[j] == 1) {
          System.arraycopy(inputs[j], from, out, from, to - from);
        } else {
          mulSet(t[j], inputs[j], out, from, to);
        }
        first = false;
      } else if (c[j] == 1) {
        xor(inputs[j], out, from, to);
      } else {
        mulXor(t[j], inputs[j], out, from, to);
      }
    }
    if (first) {
      java.util.Arrays.fill(out, from, to, (byte) 0);
    }
  }

  private static void mulSet(byte[] table, byte[] in, byte[] out, int from, int to) {
    for (int i = from; i < to; i++) {
      out[i] = table[in[i] & 0xff];
    }
  }

  private static void mulXor(byte[] table, byte[] in, byte[] out, int from, int to) {
    for (int i = from; i < to; i++) {
      out[i] ^= table[in[i] & 0xff];
    }
  }

  private static void xor(byte[] in, byte[] out, int from, int to) {
    for (int i = from; i < to; i++) {
      out[i] ^= in[i];
    }
  }
}
