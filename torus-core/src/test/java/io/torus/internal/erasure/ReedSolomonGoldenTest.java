package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Pins the parity format of {@code src-docs/formats.md} ("Erasure coding (Reed–Solomon)"):
 * GF(2^8) modulo 0x11D, parity row i = 1 / ((k + i) XOR j). The expected bytes were computed
 * once, outside this code, by a few lines of Python using a shift-and-add multiply (no
 * tables) and a brute-force inverse:
 *
 * <pre>
 * def mul(a, b):
 *     p = 0
 *     while b:
 *         if b &amp; 1: p ^= a
 *         a &lt;&lt;= 1
 *         if a &amp; 0x100: a ^= 0x11D
 *         b &gt;&gt;= 1
 *     return p
 * def inv(a): return next(x for x in range(1, 256) if mul(a, x) == 1)
 * def parity(k, m, data):   # data: k equal-length byte strings
 *     out = []
 *     for i in range(m):
 *         row = [inv((k + i) ^ j) for j in range(k)]
 *         p = bytearray(len(data[0]))
 *         for j in range(k):
 *             for t in range(len(p)): p[t] ^= mul(row[j], data[j][t])
 *         out.append(bytes(p))
 *     return out
 * </pre>
 */
class ReedSolomonGoldenTest {
  private static final HexFormat HEX = HexFormat.of();

  /** k=4, m=2, 8-byte shards holding the bytes 0..31 in order (shard j = 8j .. 8j+7). */
  @Test
  void fourPlusTwo() {
    byte[][] data = new byte[4][8];
    for (int j = 0; j < 4; j++) {
      for (int t = 0; t < 8; t++) {
        data[j][t] = (byte) (8 * j + t);
      }
    }
    assertParity(ReedSolomon.of(4, 2), data,
        "74543414f4d4b494",
        "69492909e9c9a989");
  }

  /** k=6, m=3, 16-byte shards, byte t of shard j = (37 · (16j + t) + 11) mod 256. */
  @Test
  void sixPlusThree() {
    byte[][] data = new byte[6][16];
    for (int j = 0; j < 6; j++) {
      for (int t = 0; t < 16; t++) {
        data[j][t] = (byte) (37 * (16 * j + t) + 11);
      }
    }
    ReedSolomon rs = ReedSolomon.of(6, 3);
    assertParity(rs, data,
        "8242dbf49f9058adac1e6f607e77b283",
        "83a0f14fea9706ac4e34d4387929c761",
        "3efe73a851dee373c57d3cd5e5ae2088");
    int[][] expected = {
        {122, 186, 71, 167, 142, 244},
        {186, 122, 167, 71, 244, 142},
        {173, 157, 221, 152, 61, 170}};
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 6; j++) {
        assertThat(rs.coefficient(6 + i, j)).as("G[%d][%d]", 6 + i, j)
            .isEqualTo(expected[i][j]);
      }
    }
  }

  private static void assertParity(ReedSolomon rs, byte[][] data, String... parityHex) {
    int size = data[0].length;
    byte[][] parity = new byte[parityHex.length][size];
    rs.encode(data, parity, 0, size);
    for (int i = 0; i < parityHex.length; i++) {
      assertThat(HEX.formatHex(parity[i])).as("parity %d", i).isEqualTo(parityHex[i]);
    }
  }
}
