package io.torus.spi;

import io.torus.TorusException;
import io.torus.VolumeSpec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class BlockRefTest {

  @Test
  void goldenBytes() {
    BlockRef ref = new BlockRef(0x0102030405060708L, 0x1112131415161718L, 0x21222324,
        BlockKind.MAP);
    ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
    ref.writeTo(b);
    assertThat(HexFormat.of().formatHex(b.array()))
        .isEqualTo("0102030405060708" + "1112131415161718" + "21222324" + "000000" + "01");
    assertThat(BlockRef.readFrom(b.flip())).isEqualTo(ref);
  }

  @Test
  void shardRefGoldenBytesAndStripeArithmetic() {
    BlockRef shard = new BlockRef(7, 9, 13, BlockKind.DATA, 4, 2);
    ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
    shard.writeTo(b);
    assertThat(HexFormat.of().formatHex(b.array())).isEqualTo("0000000000000007"
        + "0000000000000009" + "0000000d" + "04" + "02" + "00" + "00");
    assertThat(BlockRef.readFrom(b.flip())).isEqualTo(shard);
    assertThat(shard.toString()).isEqualTo("data:7/9/13@4+2");
    // stripe 3 holds data sequences 12..15 and parity sequences 6..7
    assertThat(shard.stripeStart()).isEqualTo(12);
    assertThat(shard.shardIndex()).isEqualTo(1);
    assertThat(shard.stripe()).isEqualTo(new BlockRef(7, 9, 12, BlockKind.DATA));
    assertThat(shard.shard(0)).isEqualTo(new BlockRef(7, 9, 12, BlockKind.DATA, 4, 2));
    BlockRef p1 = shard.shard(5);
    assertThat(p1).isEqualTo(new BlockRef(7, 9, 7, BlockKind.PARITY, 4, 2));
    assertThat(p1.shardIndex()).isEqualTo(5);
    assertThat(p1.stripe()).isEqualTo(shard.stripe());
    assertThat(p1.shard(3)).isEqualTo(new BlockRef(7, 9, 15, BlockKind.DATA, 4, 2));
    assertThat(shard).isNotEqualTo(new BlockRef(7, 9, 13, BlockKind.DATA));
    assertThat(new BlockRef(7, 9, 13, BlockKind.DATA).striped()).isFalse();
    assertThatThrownBy(() -> shard.shard(6)).hasMessageContaining("outside stripe 4+2");
    assertThatThrownBy(() -> new BlockRef(1, 1, 0, BlockKind.MAP, 4, 2))
        .hasMessageContaining("bad stripe layout 4+2 for a MAP ref");
    assertThatThrownBy(() -> new BlockRef(1, 1, 0, BlockKind.DATA, 4, 0))
        .hasMessageContaining("bad stripe layout");
    ByteBuffer reserved = ByteBuffer.wrap(HexFormat.of().parseHex(
        "0000000000000001" + "0000000000000001" + "00000000" + "0402" + "01" + "00"));
    assertThatThrownBy(() -> BlockRef.readFrom(reserved))
        .hasMessageContaining("non-zero reserved byte");
  }

  @Test
  void rejectsBadValues() {
    assertThatThrownBy(() -> new BlockRef(-1, 1, 0, BlockKind.DATA))
        .isInstanceOf(TorusException.class).hasMessageContaining("volumeId < 0: -1");
    assertThatThrownBy(() -> new BlockRef(1, 0, 0, BlockKind.DATA))
        .hasMessageContaining("generation < 1: 0");
    ByteBuffer b = ByteBuffer.wrap(HexFormat.of().parseHex(
        "0000000000000001" + "0000000000000001" + "00000000" + "000000" + "07"));
    assertThatThrownBy(() -> BlockRef.readFrom(b)).hasMessageContaining("unknown block kind: 7");
  }

  @Test
  void volumeSpecValidation() {
    assertThat(VolumeSpec.builder("a-1.b_c", 1 << 20).build().blockSize())
        .isEqualTo(VolumeSpec.DEFAULT_BLOCK_SIZE);
    assertThatThrownBy(() -> VolumeSpec.builder("x", 1000).build())
        .hasMessageContaining("1000");
    assertThatThrownBy(() -> VolumeSpec.builder("a/b", 4096).build())
        .hasMessageContaining("'a/b'");
    assertThatThrownBy(() -> VolumeSpec.builder("a", 4096).blockSize(3000).build())
        .hasMessageContaining("3000");
    assertThatThrownBy(() -> VolumeSpec.builder("a", 4096).replication(0).build())
        .hasMessageContaining("replication must be 1 to 16: 0");
  }
}
