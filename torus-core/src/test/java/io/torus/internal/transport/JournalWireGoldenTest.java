package io.torus.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The JOURNAL_FENCE answer's payload is fixed (see src-docs/formats.md). */
class JournalWireGoldenTest {
  /** Generation 3 with bytes 01 02, then generation 7 with no bytes. */
  static final String FENCE = "0000000000000003" + "00000002" + "0102"
      + "0000000000000007" + "00000000";

  @Test
  void fencePayloadBytesAreFixed() {
    ByteBuf out = Unpooled.buffer();
    int n = PeerProtocol.writeFence(List.of(new JournalRecord(3, new byte[] {1, 2}),
        new JournalRecord(7, new byte[0])), 0, out);
    assertThat(n).isEqualTo(2);
    assertThat(ByteBufUtil.hexDump(out)).isEqualTo(FENCE);
    out.release();
    assertThat(PeerProtocol.readFence(ByteBuffer.wrap(HexFormat.of().parseHex(FENCE))))
        .containsExactly(new JournalRecord(3, new byte[] {1, 2}),
            new JournalRecord(7, new byte[0]));
  }

  @Test
  void aFenceAnswerIsCutAtThePayloadLimitButCarriesOneEntry() {
    List<JournalRecord> records = new ArrayList<>();
    for (int g = 1; g <= 5; g++) {
      records.add(new JournalRecord(g, new byte[1 << 20]));
    }
    ByteBuf out = Unpooled.buffer();
    int n = PeerProtocol.writeFence(records, 0, out);
    assertThat(n).isEqualTo(3); // 4 x (12 + 1 MiB) exceeds 4 MiB
    assertThat(out.readableBytes()).isLessThanOrEqualTo(PeerProtocol.MAX_FENCE_PAYLOAD);
    out.release();
  }

  @Test
  void aTruncatedFencePayloadIsAnIoError() {
    byte[] cut = HexFormat.of().parseHex(FENCE.substring(0, FENCE.length() - 2));
    assertThatThrownBy(() -> PeerProtocol.readFence(ByteBuffer.wrap(cut)))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    byte[] lying = HexFormat.of().parseHex("0000000000000003" + "00000009" + "0102");
    assertThatThrownBy(() -> PeerProtocol.readFence(ByteBuffer.wrap(lying)))
        .hasMessageContaining("claims 9 bytes");
  }
}
