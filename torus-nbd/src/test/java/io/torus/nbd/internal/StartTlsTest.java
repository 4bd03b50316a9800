package io.torus.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.torus.BlockVolume;
import io.torus.nbd.NbdExport;
import io.torus.testing.tls.TestPki;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The option replies around {@code NBD_OPT_STARTTLS}, as bytes on an {@link EmbeddedChannel}:
 * forced mode refuses everything but ABORT and STARTTLS with ERR_TLS_REQD and drops
 * EXPORT_NAME; STARTTLS is answered ACK in plaintext and puts an {@link SslHandler} first.
 */
class StartTlsTest {
  private static final String REPLY_MAGIC = "0003e889045565a9";
  private static final String TLS_REQD = "80000005";
  private static final String MSG = "TLS is required: send STARTTLS first";

  @TempDir
  static Path dir;
  static TestPki pki;

  private EmbeddedChannel ch;

  @BeforeAll
  static void certificates() {
    pki = TestPki.generate(dir.resolve("pki"));
  }

  @AfterEach
  void close() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
  }

  private EmbeddedChannel connect(ServerTls tls) {
    BlockVolume v = (BlockVolume) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {BlockVolume.class}, (p, m, a) -> switch (m.getName()) {
          case "size" -> 1L << 20;
          case "blockSize" -> 4096;
          case "isReadOnly" -> false;
          case "name" -> "vol";
          default -> null;
        });
    ServerLimits limits = new ServerLimits(8, 8, 1 << 20, 64L << 20, Duration.ofSeconds(5),
        Duration.ofSeconds(5), Duration.ZERO);
    ServerState state = new ServerState(List.of(NbdExport.builder("vol", v).build()), limits,
        tls, System::nanoTime);
    ch = new EmbeddedChannel(new NbdConnection(state));
    assertThat(hex(ch.readOutbound())).isEqualTo("4e42444d41474943" + "49484156454f5054"
        + "0003");
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 3}));
    return ch;
  }

  private static ServerTls tls(boolean forced) {
    return ServerTls.of(pki.cert("peer"), pki.key("peer"), pki.ca(), false, forced);
  }

  private void option(int option, byte[] data) {
    ByteBuf b = Unpooled.buffer();
    b.writeLong(Nbd.IHAVEOPT).writeInt(option).writeInt(data.length).writeBytes(data);
    ch.writeInbound(b);
  }

  private String reply() {
    StringBuilder s = new StringBuilder();
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      s.append(hex(b));
    }
    return s.toString();
  }

  private static String hex(ByteBuf b) {
    try {
      return ByteBufUtil.hexDump(b);
    } finally {
      b.release();
    }
  }

  private static String tlsRequired(int option) {
    return REPLY_MAGIC + String.format("%08x", option) + TLS_REQD
        + String.format("%08x", MSG.length())
        + ByteBufUtil.hexDump(MSG.getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] goData() {
    return new byte[] {0, 0, 0, 3, 'v', 'o', 'l', 0, 0};
  }

  @Test
  void forcedModeRefusesEveryOptionBeforeStartTls() {
    connect(tls(true));
    option(Nbd.OPT_LIST, new byte[0]);
    assertThat(reply()).isEqualTo(tlsRequired(Nbd.OPT_LIST));
    option(Nbd.OPT_INFO, goData());
    assertThat(reply()).isEqualTo(tlsRequired(Nbd.OPT_INFO));
    option(Nbd.OPT_GO, goData());
    assertThat(reply()).isEqualTo(tlsRequired(Nbd.OPT_GO));
    option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
    assertThat(reply()).isEqualTo(tlsRequired(Nbd.OPT_STRUCTURED_REPLY));
    option(42, new byte[] {1, 2, 3});
    assertThat(reply()).isEqualTo(tlsRequired(42));
    assertThat(ch.isOpen()).isTrue();
    assertThat(ch.pipeline().get(SslHandler.class)).isNull();
  }

  @Test
  void forcedModeClosesOnExportName() {
    connect(tls(true));
    option(Nbd.OPT_EXPORT_NAME, "vol".getBytes(StandardCharsets.US_ASCII));
    assertThat(reply()).isEmpty();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void forcedModeStillAnswersAbort() {
    connect(tls(true));
    option(Nbd.OPT_ABORT, new byte[0]);
    assertThat(reply()).isEqualTo(REPLY_MAGIC + "00000002" + "00000001" + "00000000");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void startTlsIsAcknowledgedInPlaintextThenTlsGoesFirst() {
    connect(tls(true));
    option(Nbd.OPT_STARTTLS, new byte[] {1});
    assertThat(reply()).startsWith(REPLY_MAGIC + "00000005" + "80000003");
    option(Nbd.OPT_STARTTLS, new byte[0]);
    assertThat(reply()).isEqualTo(REPLY_MAGIC + "00000005" + "00000001" + "00000000");
    assertThat(ch.pipeline().first()).isInstanceOf(SslHandler.class);
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void plaintextAfterStartTlsFailsTheHandshakeAndCloses() {
    connect(tls(true));
    option(Nbd.OPT_STARTTLS, new byte[0]);
    assertThat(reply()).isEqualTo(REPLY_MAGIC + "00000005" + "00000001" + "00000000");
    try {
      option(Nbd.OPT_LIST, new byte[0]);
    } catch (RuntimeException expected) {
      // EmbeddedChannel rethrows the decoder's NotSslRecordException
    }
    ch.runPendingTasks();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void optionalModeServesPlaintext() {
    connect(tls(false));
    option(Nbd.OPT_LIST, new byte[0]);
    String r = reply();
    assertThat(r).startsWith(REPLY_MAGIC + "00000003" + "00000002"); // REP_SERVER "vol"
    assertThat(r).endsWith(REPLY_MAGIC + "00000003" + "00000001" + "00000000");
  }

  @Test
  void withoutTlsStartTlsIsRefusedByPolicy() {
    connect(null);
    option(Nbd.OPT_STARTTLS, new byte[0]);
    assertThat(reply()).startsWith(REPLY_MAGIC + "00000005" + "80000002");
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void dataSentBeforeTheStartTlsReplyCloses() {
    connect(tls(false));
    ByteBuf b = Unpooled.buffer();
    b.writeLong(Nbd.IHAVEOPT).writeInt(Nbd.OPT_STARTTLS).writeInt(0);
    b.writeBytes(new byte[] {0x16, 3, 1});
    ch.writeInbound(b);
    assertThat(reply()).isEqualTo(REPLY_MAGIC + "00000005" + "00000001" + "00000000");
    assertThat(ch.isOpen()).isFalse();
  }
}
