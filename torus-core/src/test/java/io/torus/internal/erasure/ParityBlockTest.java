package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The stored form of parity shards (golden bytes) and the rebuild of data shards from any k
 * shards of a stripe, absent positions included, over random shapes and losses.
 */
class ParityBlockTest {

  @Test
  void goldenBytesOfA3Plus1StripeWithOneAbsentShard() {
    // k = 3, m = 1; data shard 1 absent; shard 0 = 01 02, shard 2 = 05 (padded to 05 00).
      ReedSolomon rs = ReedSolomon.of(3, 1);
    ByteBuffer[] data = {ByteBuffer.wrap(new byte[] {1, 2}), null,
        ByteBuffer.wrap(new byte[] {5})};
    ByteBuffer[] parity = ParityBlock.encode(rs, data);
    byte[] p0 = new byte[parity[0].remaining()];
    parity[0].duplicate().get(p0);
    // parity: 1/3 = f4 in GF(2^8)/0x11d; byte 0 = f4·01 ^ 1·05 = f1, byte 1 = f4·02 = f5
    // (CRC32C: 01 02 -> 03f89f52, 05 -> 678c474d)
    assertThat(HexFormat.of().formatHex(p0)).isEqualTo("54504152" + "01" + "03" + "01" + "00"
        + "00000005" + "00000002" + "00000002" + "00000000" + "00000001" + "03f89f52"
        + "00000000" + "678c474d" + "f1f5");
    ParityBlock h = ParityBlock.parse(parity[0], 3, 1, "p");
    assertThat(h.present()).isEqualTo(5);
    assertThat(h.has(1)).isFalse();
    assertThat(h.shardLength()).isEqualTo(2);
  }

  @Test
  void rebuildsAnyShardFromAnyKShardsOverRandomStripes() {
    SplittableRandom seeds = new SplittableRandom(0x57a1be);
    for (int run = 0; run < 200; run++) {
      long seed = seeds.nextLong();
      SplittableRandom rnd = new SplittableRandom(seed);
      int k = 1 + rnd.nextInt(10);
      int m = 1 + rnd.nextInt(4);
      ReedSolomon rs = ReedSolomon.of(k, m);
      ByteBuffer[] data = new ByteBuffer[k];
      int present = 0;
      for (int i = 0; i < k; i++) {
        if (i == 0 || rnd.nextInt(4) != 0) {
          byte[] b = new byte[1 + rnd.nextInt(3000)];
          rnd.nextBytes(b);
          data[i] = ByteBuffer.wrap(b);
          present++;
        }
      }
      ByteBuffer[] parity = ParityBlock.encode(rs, data);
      ParityBlock h = ParityBlock.parse(parity[rnd.nextInt(m)], k, m, "p");
      // lose the wanted data shard and m - 1 other stored shards (data or parity)
      int want;
      do {
        want = rnd.nextInt(k);
      } while (data[want] == null);
      ByteBuffer[] readData = data.clone();
      ByteBuffer[] readParity = parity.clone();
      readData[want] = null;
      for (int lost = 1, tries = 0; lost < m && tries < 1000; tries++) {
        int i = rnd.nextInt(k + m);
        if (i < k && readData[i] != null) {
          readData[i] = null;
          lost++;
        } else if (i >= k && readParity[i - k] != null) {
          readParity[i - k] = null;
          lost++;
        }
      }
      ByteBuffer rebuilt = h.rebuild(rs, want, readData, readParity, "seed " + seed);
      assertThat(rebuilt).as("seed %d", seed).isEqualTo(data[want].duplicate().rewind());
    }
  }

  @Test
  void tooFewShardsIsUnavailableAndAWrongShardIsCorrupt() {
    ReedSolomon rs = ReedSolomon.of(2, 1);
    ByteBuffer[] data = {ByteBuffer.wrap(new byte[] {1, 2, 3}), ByteBuffer.wrap(new byte[] {4})};
    ByteBuffer[] parity = ParityBlock.encode(rs, data);
    ParityBlock h = ParityBlock.parse(parity[0], 2, 1, "p");
    assertThatThrownBy(() -> h.rebuild(rs, 0, new ByteBuffer[2], new ByteBuffer[1], "s"))
        .isInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining("0 of 3 shards readable, 2 needed");
    ByteBuffer[] wrong = {null, ByteBuffer.wrap(new byte[] {9})};
    assertThatThrownBy(() -> h.rebuild(rs, 0, wrong, parity, "s"))
        .isInstanceOf(CorruptBlockException.class).hasMessageContaining("checksum");
    ByteBuffer bad = parity[0].duplicate();
    ByteBuffer copy = ByteBuffer.allocate(bad.remaining()).put(bad).flip();
    copy.put(5, (byte) 4);
    assertThatThrownBy(() -> ParityBlock.parse(copy, 2, 1, "p"))
        .isInstanceOf(CorruptBlockException.class).hasMessageContaining("no valid 2+1");
    ByteBuffer lying = ByteBuffer.allocate(parity[0].remaining()).put(parity[0].duplicate())
        .flip();
    lying.putInt(8, 4); // claims data shard 2 of a 2-shard stripe
    assertThatThrownBy(() -> ParityBlock.parse(lying, 2, 1, "p"))
        .hasMessageContaining("inconsistent");
  }
}
