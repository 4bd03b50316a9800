package io.torus.internal.erasure;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.torus.TorusException;
import java.util.BitSet;

/**
 * A systematic Reed–Solomon erasure coder over GF(2^8) with {@code k} data shards and
 * {@code m} parity shards: any {@code k} of the {@code k + m} shards rebuild the others.
 *
 * <p><b>Code.</b> Field GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D, {@link Gf256}).
 * Generator matrix ({@link GfMatrix#systematicCauchy}), {@code (k + m) × k}: the identity for
 * the data shards, then for parity shard {@code i} the Cauchy row
 * {@code G[k + i][j] = 1 / ((k + i) XOR j)}. Parity shard {@code i} is, byte by byte,
 * {@code sum over j of G[k + i][j] · data_j}; data shards are stored unchanged. Every k × k
 * submatrix of G is invertible, for every supported (k, m). The parity bytes are a format
 * ({@code src-docs/formats.md}, "Erasure coding (Reed–Solomon)"), fixed by
 * {@code ReedSolomonGoldenTest}.
 *
 * <p><b>Shards.</b> Heap byte arrays, all of the same length; a call codes the byte range
 * {@code [offset, offset + length)} of every shard, independently per byte position, and
 * leaves the rest of each array untouched. Shards must be distinct arrays (an output that is
 * also an input gives undefined bytes).
 *
 * <p><b>Concurrency.</b> A coder is immutable and thread-safe; calls on distinct shards may
 * run in parallel. Decoding caches the inverted matrix of each recent erasure pattern (at most
 * {@link #CACHED_PATTERNS}) in a concurrent cache. Calls run in the caller's thread.
 *
 * <p><b>Errors.</b> Bad arguments throw {@link TorusException} with
 * {@link io.torus.ErrorCode#EINVAL} naming the bad value, before any byte is written.
 *
 * <p><b>Cost.</b> Encoding reads every data byte once per parity shard from a cache-sized
 * chunk (one table load and XOR per data byte and parity shard); decoding costs the same per
 * rebuilt shard, plus one k × k inversion per erasure pattern not in the cache.
 */
public final class ReedSolomon {
  /** The largest {@code k + m}: shards are numbered by distinct field elements. */
  public static final int MAX_SHARDS = 256;
  /** Erasure patterns whose decoding matrix a coder keeps. */
  static final int CACHED_PATTERNS = 64;

  private final int k;
  private final int m;
  private final int[][] generator;
  private final CodingMatrix parity;
  private final Cache<BitSet, DecodePlan> plans =
      Caffeine.newBuilder().maximumSize(CACHED_PATTERNS).build();

  /** The shards a decode reads, the ones it writes, and the matrix from the first to the second. */
  private record DecodePlan(int[] inputs, int[] missing, CodingMatrix matrix) {}

  private ReedSolomon(int k, int m) {
    this.k = k;
    this.m = m;
    this.generator = GfMatrix.systematicCauchy(k, m);
    int[] parityRows = new int[m];
    for (int i = 0; i < m; i++) {
      parityRows[i] = k + i;
    }
    this.parity = new CodingMatrix(GfMatrix.rows(generator, parityRows));
  }

  /**
   * The coder for {@code k} data and {@code m} parity shards.
   *
   * @throws TorusException EINVAL unless {@code k ≥ 1}, {@code m ≥ 1} and
   *     {@code k + m ≤ 256}
   */
  public static ReedSolomon of(int k, int m) {
    if (k < 1) {
      throw TorusException.invalid("data shards < 1: " + k);
    }
    if (m < 1) {
      throw TorusException.invalid("parity shards < 1: " + m);
    }
    if (k + m > MAX_SHARDS) {
      throw TorusException.invalid("data + parity shards > " + MAX_SHARDS + ": " + k + "+" + m);
    }
    return new ReedSolomon(k, m);
  }

  /** {@code k}, the number of data shards. */
  public int dataShards() {
    return k;
  }

  /** {@code m}, the number of parity shards (and of lost shards a stripe survives). */
  public int parityShards() {
    return m;
  }

  /** {@code k + m}. */
  public int totalShards() {
    return k + m;
  }

  /** The generator coefficient {@code G[row][col]} (row < k + m, col < k); for tests. */
  int coefficient(int row, int col) {
    return generator[row][col];
  }

  /**
   * Computes the parity of {@code data}: for each parity shard {@code i}, sets
   * {@code parity[i][offset, offset + length)} from the same range of the data shards.
   *
   * @param data the {@code k} data shards, read only
   * @param parity the {@code m} parity shards, overwritten in the range
   * @throws TorusException EINVAL on a wrong shard count, a null shard, shards of unequal
   *     lengths, or a range outside the shards
   */
  public void encode(byte[][] data, byte[][] parity, int offset, int length) {
    if (data == null || data.length != k) {
      throw TorusException.invalid("data shards: " + count(data) + ", expected " + k);
    }
    if (parity == null || parity.length != m) {
      throw TorusException.invalid("parity shards: " + count(parity) + ", expected " + m);
    }
    int size = shardLength(data, 0, -1);
    shardLength(parity, k, size);
    checkRange(size, offset, length);
    this.parity.apply(data, parity, offset, length);
  }

  /**
   * Rebuilds the missing shards of a stripe from {@code k} present ones: afterwards every shard
   * (data and parity) holds its coded content in the range. Shards marked present are read,
   * not written; {@code present} is not modified. When more than {@code k} are present, the
   * lowest-numbered {@code k} are read (data shards first).
   *
   * @param shards the {@code k + m} shards, data shards first, every one a non-null array of
   *     the same length (the missing ones are overwritten in the range)
   * @param present which shards hold valid bytes, {@code k + m} flags
   * @throws TorusException EINVAL on a wrong shard or flag count, a null shard, shards of
   *     unequal lengths, a range outside the shards, or fewer than {@code k} shards present
   */
  public void decode(byte[][] shards, boolean[] present, int offset, int length) {
    int n = k + m;
    if (shards == null || shards.length != n) {
      throw TorusException.invalid("shards: " + count(shards) + ", expected " + n);
    }
    if (present == null || present.length != n) {
      throw TorusException.invalid("present flags: "
          + (present == null ? "null" : present.length) + ", expected " + n);
    }
    checkRange(shardLength(shards, 0, -1), offset, length);
    BitSet pattern = new BitSet(n);
    for (int i = 0; i < n; i++) {
      if (present[i]) {
        pattern.set(i);
      }
    }
    int have = pattern.cardinality();
    if (have < k) {
      throw TorusException.invalid("shards present: " + have + " of " + n + ", need " + k);
    }
    if (have == n) {
      return;
    }
    DecodePlan plan = plans.get(pattern, this::plan);
    byte[][] in = new byte[k][];
    for (int i = 0; i < k; i++) {
      in[i] = shards[plan.inputs[i]];
    }
    byte[][] out = new byte[plan.missing.length][];
    for (int i = 0; i < out.length; i++) {
      out[i] = shards[plan.missing[i]];
    }
    plan.matrix.apply(in, out, offset, length);
  }

  /**
   * The plan for a pattern of at least k present shards: read the first k present, write every
   * missing shard with the rows {@code G[missing] · (G[inputs])^-1}.
   */
  private DecodePlan plan(BitSet present) {
    int[] inputs = new int[k];
    int[] missing = new int[k + m - present.cardinality()];
    int in = 0;
    int out = 0;
    for (int i = 0; i < k + m; i++) {
      if (!present.get(i)) {
        missing[out++] = i;
      } else if (in < k) {
        inputs[in++] = i;
      }
    }
    int[][] inverse = GfMatrix.invert(GfMatrix.rows(generator, inputs));
    int[][] rows = GfMatrix.multiply(GfMatrix.rows(generator, missing), inverse);
    return new DecodePlan(inputs, missing, new CodingMatrix(rows));
  }

  /** The common length of {@code shards} (numbered from {@code first} in messages). */
  private static int shardLength(byte[][] shards, int first, int expected) {
    int size = expected;
    for (int i = 0; i < shards.length; i++) {
      if (shards[i] == null) {
        throw TorusException.invalid("shard " + (first + i) + " is null");
      }
      if (size < 0) {
        size = shards[i].length;
      } else if (shards[i].length != size) {
        throw TorusException.invalid("shard " + (first + i) + " length " + shards[i].length
            + " != " + size);
      }
    }
    return size;
  }

  private static void checkRange(int size, int offset, int length) {
    if (offset < 0) {
      throw TorusException.invalid("offset < 0: " + offset);
    }
    if (length < 0) {
      throw TorusException.invalid("length < 0: " + length);
    }
    if (offset > size - length) {
      throw TorusException.invalid("offset + length > shard length: " + offset + " + "
          + length + " > " + size);
    }
  }

  private static String count(byte[][] shards) {
    return shards == null ? "null" : Integer.toString(shards.length);
  }

  @Override
  public String toString() {
    return "ReedSolomon[" + k + "+" + m + "]";
  }
}
