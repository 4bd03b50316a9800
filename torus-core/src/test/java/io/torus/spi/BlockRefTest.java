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
