package io.torus.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes of every frame the server sends, written out by hand from the protocol
 * specification (all integers big-endian).
 */
class NbdCodecTest {
  private final ByteBufAllocator alloc = UnpooledByteBufAllocator.DEFAULT;

  private static String hex(ByteBuf b) {
    try {
      return ByteBufUtil.hexDump(b);
    } finally {
      b.release();
    }
  }

  @Test
  void greeting() {
    assertThat(hex(NbdCodec.greeting(alloc)))
        .isEqualTo("4e42444d41474943" + "49484156454f5054" + "0003");
  }

  @Test
  void optionAckAndErrors() {
    assertThat(hex(NbdCodec.optionReply(alloc, Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, null)))
        .isEqualTo("0003e889045565a9" + "00000008" + "00000001" + "00000000");
    assertThat(hex(NbdCodec.optionError(alloc, 99, Nbd.REP_ERR_UNSUP, "no")))
        .isEqualTo("0003e889045565a9" + "00000063" + "80000001" + "00000002" + "6e6f");
  }

  @Test
  void listServerReply() {
    assertThat(hex(NbdCodec.serverReply(alloc, "vol", "d")))
        .isEqualTo("0003e889045565a9" + "00000003" + "00000002" + "00000008"
            + "00000003" + "766f6c" + "64");
  }

  @Test
  void infoReplies() {
    assertThat(hex(NbdCodec.infoExport(alloc, Nbd.OPT_GO, 0x0102030405060708L, 0x014d)))
        .isEqualTo("0003e889045565a9" + "00000007" + "00000003" + "0000000c"
            + "0000" + "0102030405060708" + "014d");
    assertThat(hex(NbdCodec.infoText(alloc, Nbd.OPT_INFO, Nbd.INFO_NAME, "ab")))
        .isEqualTo("0003e889045565a9" + "00000006" + "00000003" + "00000004"
            + "0001" + "6162");
    assertThat(hex(NbdCodec.infoBlockSize(alloc, Nbd.OPT_GO, 1, 65536, 32 << 20)))
        .isEqualTo("0003e889045565a9" + "00000007" + "00000003" + "0000000e"
            + "0003" + "00000001" + "00010000" + "02000000");
    assertThat(hex(NbdCodec.metaContext(alloc, Nbd.OPT_SET_META_CONTEXT, 1, "base:allocation")))
        .isEqualTo("0003e889045565a9" + "0000000a" + "00000004" + "00000013"
            + "00000001" + "626173653a616c6c6f636174696f6e");
  }

  @Test
  void exportNameReplyWithAndWithoutZeroes() {
    assertThat(hex(NbdCodec.exportNameReply(alloc, 1L << 20, 0x0001, true)))
        .isEqualTo("0000000000100000" + "0001");
    assertThat(hex(NbdCodec.exportNameReply(alloc, 1L << 20, 0x0001, false)))
        .isEqualTo("0000000000100000" + "0001" + "00".repeat(124));
  }

  @Test
  void simpleReply() {
    assertThat(hex(NbdCodec.simpleReply(alloc, Nbd.EINVAL, 0x1122334455667788L)))
        .isEqualTo("67446698" + "00000016" + "1122334455667788");
  }

  @Test
  void structuredChunks() {
    assertThat(hex(NbdCodec.noneChunk(alloc, 7)))
        .isEqualTo("668e33ef" + "0001" + "0000" + "0000000000000007" + "00000000");
    assertThat(hex(NbdCodec.errorChunk(alloc, 7, Nbd.EIO, "x")))
        .isEqualTo("668e33ef" + "0001" + "8001" + "0000000000000007" + "00000007"
            + "00000005" + "0001" + "78");
    assertThat(hex(NbdCodec.blockStatusChunk(alloc, 7, 1,
        List.of(new int[] {65536, 0}, new int[] {-1, 3}))))
        .isEqualTo("668e33ef" + "0001" + "0005" + "0000000000000007" + "00000014"
            + "00000001" + "00010000" + "00000000" + "ffffffff" + "00000003");
    ByteBuf b = alloc.buffer();
    NbdCodec.writeChunkHeader(b, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, 9, 8 + 4);
    assertThat(hex(b)).isEqualTo("668e33ef" + "0001" + "0001" + "0000000000000009"
        + "0000000c");
  }
}
