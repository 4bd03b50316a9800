package io.torus.internal.erasure;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A coefficient matrix ready to run over shards: output shard {@code o} becomes
 * {@code sum over j of c[o][j] · input_j}, byte by byte over a range of the shards.
 *
 * <p>Encoding uses the parity rows of the generator; decoding, the rows of the missing shards
 * expressed over the k shards it reads. Each non-trivial coefficient has its 256-byte row of
 * the product table, so the loops do one table load per input byte and output shard and no
 * call; coefficients 0 and 1 need no table (skip, XOR). The loops read and write eight bytes
 * at a time as {@code long}s (eight table loads assemble one {@code long}), which measured
 * faster than a byte loop; a byte loop does the tail. The range is processed in
 * {@link #CHUNK}-byte pieces so the pieces of all inputs stay in the CPU's L1/L2 caches while
 * every output row reads them.
 *
 * <p>Immutable after construction; thread-safe. {@link #apply} checks nothing: the caller
 * ({@link ReedSolomon}) has validated shard counts and ranges.
 */
final class CodingMatrix {
  /** Bytes of each shard processed per pass over all output rows. */
  static final int CHUNK = 16 * 1024;
  /** Eight bytes of a shard at a time (any byte order works: lookups are per byte). */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

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
      Arrays.fill(out, from, to, (byte) 0);
    }
  }

  /** {@code out[i] = table[in[i]]} over [from, to). */
  private static void mulSet(byte[] table, byte[] in, byte[] out, int from, int to) {
    int i = from;
    for (; i <= to - 8; i += 8) {
      LONGS.set(out, i, lookup8(table, (long) LONGS.get(in, i)));
    }
    for (; i < to; i++) {
      out[i] = table[in[i] & 0xff];
    }
  }

  /** {@code out[i] ^= table[in[i]]} over [from, to). */
  private static void mulXor(byte[] table, byte[] in, byte[] out, int from, int to) {
    int i = from;
    for (; i <= to - 8; i += 8) {
      LONGS.set(out, i, (long) LONGS.get(out, i) ^ lookup8(table, (long) LONGS.get(in, i)));
    }
    for (; i < to; i++) {
      out[i] ^= table[in[i] & 0xff];
    }
  }

  /** {@code out[i] ^= in[i]} over [from, to). */
  private static void xor(byte[] in, byte[] out, int from, int to) {
    int i = from;
    for (; i <= to - 8; i += 8) {
      LONGS.set(out, i, (long) LONGS.get(out, i) ^ (long) LONGS.get(in, i));
    }
    for (; i < to; i++) {
      out[i] ^= in[i];
    }
  }

  /** The eight bytes of {@code v}, each replaced by its table entry, in place. */
  private static long lookup8(byte[] t, long v) {
    return (t[(int) v & 0xff] & 0xffL)
        | (t[(int) (v >>> 8) & 0xff] & 0xffL) << 8
        | (t[(int) (v >>> 16) & 0xff] & 0xffL) << 16
        | (t[(int) (v >>> 24) & 0xff] & 0xffL) << 24
        | (t[(int) (v >>> 32) & 0xff] & 0xffL) << 32
        | (t[(int) (v >>> 40) & 0xff] & 0xffL) << 40
        | (t[(int) (v >>> 48) & 0xff] & 0xffL) << 48
        | (t[(int) (v >>> 56) & 0xff] & 0xffL) << 56;
  }
}
