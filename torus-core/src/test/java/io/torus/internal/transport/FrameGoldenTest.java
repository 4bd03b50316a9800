package io.torus.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.internal.transport.proto.Header;
import io.torus.internal.transport.proto.Op;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The peer protocol frame's bytes are fixed (see src-docs/formats.md). */
class FrameGoldenTest {
  private static final String PUT_FRAME = "00000031" + "002a"
      + "0807" + "1002" + "3218" + "0000000000000005" + "0000000000000003" + "00000009"
      + "00000000" + "3805" + "4009" + "4dd4c3b2a1" + "50d00f"
      + "0102030405";

  private static EmbeddedChannel channel() {
    EmbeddedChannel ch = new EmbeddedChannel();
    FrameCodec.install(ch.pipeline());
    return ch;
  }

  private static Header putHeader() {
    return Header.newBuilder().setRequestId(7).setOp(Op.PUT)
        .setRef(PeerProtocol.ref(new BlockRef(5, 3, 9, BlockKind.DATA)))
        .setVolumeId(5).setEpoch(9).setCrc32C(0xa1b2c3d4).setDeadlineMillis(2000).build();
  }

  @Test
  void putFrameBytesAreFixed() {
    assertThat(encoded(putHeader())).isEqualTo(PUT_FRAME);
  }

  /** The frame of {@code header} with the payload 01..05, as hex. */
  private static String encoded(Header header) {
    EmbeddedChannel ch = channel();
    ch.writeOutbound(new Frame(header, Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5})));
    ByteBuf out = Unpooled.buffer();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      out.writeBytes(b);
      b.release();
    }
    String hex = ByteBufUtil.hexDump(out);
    out.release();
    ch.finishAndReleaseAll();
    return hex;
  }

  /** The same PUT asking for a durable copy: field 23 ({@code sync}) appended, b8 01 01. */
  private static final String SYNC_PUT_FRAME = "00000034" + "002d"
      + PUT_FRAME.substring(12, 12 + 2 * 0x2a) + "b80101" + "0102030405";

  @Test
  void aDurablePutAddsTheSyncField() {
    assertThat(encoded(putHeader().toBuilder().setSync(true).build()))
        .isEqualTo(SYNC_PUT_FRAME);
  }

  @Test
  void decodesTheGoldenFrame() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex(PUT_FRAME)));
    Frame f = ch.readInbound();
    assertThat(f.header).isEqualTo(putHeader());
    assertThat(PeerProtocol.ref(f.header)).isEqualTo(new BlockRef(5, 3, 9, BlockKind.DATA));
    assertThat(ByteBufUtil.getBytes(f.payload)).containsExactly(1, 2, 3, 4, 5);
    f.release();
    ch.finishAndReleaseAll();
  }

  @Test
  void refusesBadFrames() {
    EmbeddedChannel oversized = channel();
    assertThatThrownBy(() -> oversized.writeInbound(Unpooled.buffer().writeInt(
        FrameCodec.MAX_FRAME + 1))).isInstanceOf(TooLongFrameException.class);
    oversized.finishAndReleaseAll();

    EmbeddedChannel badHeaderLength = channel();
    assertThatThrownBy(() -> badHeaderLength.writeInbound(Unpooled.buffer().writeInt(4)
        .writeShort(100).writeShort(0))).isInstanceOf(CorruptedFrameException.class);
    badHeaderLength.finishAndReleaseAll();

    EmbeddedChannel garbage = channel();
    assertThatThrownBy(() -> garbage.writeInbound(Unpooled.buffer().writeInt(5)
        .writeShort(3).writeBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff})))
        .isInstanceOf(DecoderException.class);
    garbage.finishAndReleaseAll();
  }
}
