package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Encode, lose shards, decode, compare byte for byte: over random shapes, sizes, ranges and
 * seeds (each failure names its seed), exhaustively over every loss pattern of small codes,
 * and the argument checks.
 */
class ReedSolomonTest {
  private static final long SEED = 0x7c0de14L;

  @Test
  void randomShapesSizesAndLosses() {
    SplittableRandom seeds = new SplittableRandom(SEED);
    for (int run = 0; run < 300; run++) {
      long seed = seeds.nextLong();
      SplittableRandom rnd = new SplittableRandom(seed);
      int k = 1 + rnd.nextInt(12);
      int m = 1 + rnd.nextInt(6);
      int size = rnd.nextInt(10) == 0 ? rnd.nextInt(4) : rnd.nextInt(5001);
      int offset = rnd.nextBoolean() ? 0 : rnd.nextInt(size + 1);
      int length = rnd.nextInt(size - offset + 1);
      if (rnd.nextBoolean()) {
        offset = 0;
        length = size;
      }
      int lose = rnd.nextInt(4) == 0 ? rnd.nextInt(m + 1) : m;
      boolean[] present = new boolean[k + m];
      Arrays.fill(present, true);
      int lost = 0;
      while (lost < lose) {
        int i = rnd.nextInt(k + m);
        if (present[i]) {
          present[i] = false;
          lost++;
        }
      }
      roundTrip(ReedSolomon.of(k, m), rnd, size, offset, length, present,
          "seed " + seed + ": " + k + "+" + m + " size " + size + " range " + offset + "+"
              + length + " present " + Arrays.toString(present));
    }
  }

  /** Every pattern of up to m lost shards, for a few small codes. */
  @Test
  void everyLossPatternOfSmallCodes() {
    int[][] shapes = {{1, 1}, {1, 3}, {2, 2}, {3, 3}, {4, 2}, {6, 3}, {5, 5}};
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int[] shape : shapes) {
      int k = shape[0];
      int m = shape[1];
      int n = k + m;
      ReedSolomon rs = ReedSolomon.of(k, m);
      for (int mask = 0; mask < 1 << n; mask++) {
        if (Integer.bitCount(mask) >= k) {
          boolean[] present = new boolean[n];
          for (int i = 0; i < n; i++) {
            present[i] = (mask & (1 << i)) != 0;
          }
          roundTrip(rs, rnd, 67, 0, 67, present,
              k + "+" + m + " present " + Arrays.toString(present));
        }
      }
    }
  }

  /** A stripe bigger than one coding chunk, so decoding crosses chunk boundaries. */
  @Test
  void shardsLongerThanAChunk() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    boolean[] present = {false, true, false, true, true, true, false, true, true, true};
    roundTrip(ReedSolomon.of(6, 4), rnd, 3 * CodingMatrix.CHUNK + 13, 5,
        3 * CodingMatrix.CHUNK + 1, present, "6+4 across chunks");
  }

  @Test
  void decodeLeavesBytesOutsideTheRangeAlone() {
    ReedSolomon rs = ReedSolomon.of(3, 2);
    byte[][] shards = new byte[5][10];
    for (byte[] s : shards) {
      Arrays.fill(s, (byte) 0x55);
    }
    boolean[] present = {false, true, true, true, false};
    rs.decode(shards, present, 2, 5);
    for (byte[] s : shards) {
      assertThat(s[0]).isEqualTo((byte) 0x55);
      assertThat(s[1]).isEqualTo((byte) 0x55);
      assertThat(s[7]).isEqualTo((byte) 0x55);
      assertThat(s[9]).isEqualTo((byte) 0x55);
    }
    assertThat(present).containsExactly(false, true, true, true, false);
  }

  @Test
  void refusesBadShapes() {
    assertInvalid(() -> ReedSolomon.of(0, 2), "data shards < 1: 0");
    assertInvalid(() -> ReedSolomon.of(4, 0), "parity shards < 1: 0");
    assertInvalid(() -> ReedSolomon.of(250, 7), "data + parity shards > 256: 250+7");
    assertThat(ReedSolomon.of(250, 6).totalShards()).isEqualTo(256);
    ReedSolomon rs = ReedSolomon.of(6, 3);
    assertThat(rs.dataShards()).isEqualTo(6);
    assertThat(rs.parityShards()).isEqualTo(3);
    assertThat(rs).hasToString("ReedSolomon[6+3]");
  }

  @Test
  void encodeRefusesBadArguments() {
    ReedSolomon rs = ReedSolomon.of(2, 1);
    byte[][] data = {new byte[8], new byte[8]};
    byte[][] parity = {new byte[8]};
    assertInvalid(() -> rs.encode(new byte[3][8], parity, 0, 8), "data shards: 3, expected 2");
    assertInvalid(() -> rs.encode(null, parity, 0, 8), "data shards: null, expected 2");
    assertInvalid(() -> rs.encode(data, new byte[2][8], 0, 8), "parity shards: 2, expected 1");
    assertInvalid(() -> rs.encode(new byte[][] {new byte[8], null}, parity, 0, 8),
        "shard 1 is null");
    assertInvalid(() -> rs.encode(data, new byte[][] {new byte[9]}, 0, 8),
        "shard 2 length 9 != 8");
    assertInvalid(() -> rs.encode(new byte[][] {new byte[8], new byte[7]}, parity, 0, 7),
        "shard 1 length 7 != 8");
    assertInvalid(() -> rs.encode(data, parity, -4, 2), "offset < 0: -4");
    assertInvalid(() -> rs.encode(data, parity, 0, -1), "length < 0: -1");
    assertInvalid(() -> rs.encode(data, parity, 5, 4),
        "offset + length > shard length: 5 + 4 > 8");
    assertInvalid(() -> rs.encode(data, parity, Integer.MAX_VALUE, 8),
        "offset + length > shard length");
  }

  @Test
  void decodeRefusesBadArguments() {
    ReedSolomon rs = ReedSolomon.of(2, 2);
    byte[][] shards = new byte[4][8];
    assertInvalid(() -> rs.decode(shards, new boolean[] {true, false, false, false}, 0, 8),
        "shards present: 1 of 4, need 2");
    assertInvalid(() -> rs.decode(new byte[3][8], new boolean[4], 0, 8),
        "shards: 3, expected 4");
    assertInvalid(() -> rs.decode(shards, new boolean[5], 0, 8),
        "present flags: 5, expected 4");
    assertInvalid(() -> rs.decode(shards, null, 0, 8), "present flags: null, expected 4");
    byte[][] uneven = {new byte[8], new byte[8], new byte[8], new byte[4]};
    assertInvalid(() -> rs.decode(uneven, new boolean[] {true, true, true, false}, 0, 4),
        "shard 3 length 4 != 8");
    byte[][] withNull = {new byte[8], null, new byte[8], new byte[8]};
    assertInvalid(() -> rs.decode(withNull, new boolean[] {true, false, true, true}, 0, 8),
        "shard 1 is null");
    assertInvalid(() -> rs.decode(shards, new boolean[] {true, true, false, false}, 4, 5),
        "offset + length > shard length: 4 + 5 > 8");
  }

  /**
   * Fills k random data shards of {@code size} bytes, encodes the range, wipes the shards
   * {@code present} marks missing (every byte, with a pattern), decodes, and expects every
   * shard back in the range.
   */
  private static void roundTrip(ReedSolomon rs, SplittableRandom rnd, int size, int offset,
      int length, boolean[] present, String what) {
    int k = rs.dataShards();
    int n = rs.totalShards();
    byte[][] shards = new byte[n][size];
    for (int j = 0; j < k; j++) {
      for (int t = 0; t < size; t++) {
        shards[j][t] = (byte) rnd.nextInt(256);
      }
    }
    rs.encode(Arrays.copyOf(shards, k), Arrays.copyOfRange(shards, k, n), offset, length);
    byte[][] expected = new byte[n][];
    for (int i = 0; i < n; i++) {
      expected[i] = shards[i].clone();
      if (!present[i]) {
        Arrays.fill(shards[i], offset, offset + length, (byte) 0xA5);
      }
    }
    rs.decode(shards, present, offset, length);
    for (int i = 0; i < n; i++) {
      if (!Arrays.equals(shards[i], offset, offset + length,
          expected[i], offset, offset + length)) {
        throw new AssertionError(what + ": shard " + i + " differs after decode");
      }
    }
  }

  private static void assertInvalid(Runnable call, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(TorusException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.EINVAL))
        .hasMessageContaining(message);
  }
}
