package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.nbd.internal.Nbd;
import io.torus.testing.tls.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of malformed sessions (randomised, seed printed; replay with
 * {@code -Dnbd.hostile.seed=N}) while libnbd writes and verifies data on the same export. The
 * server must answer each with the right error or a clean disconnect, never hang, keep the
 * correct client error-free, and end with no connections, no extra threads and no leaked
 * buffers.
 */
@Timeout(400)
class HostileClientIT extends NbdITBase {
  private static final int SESSIONS = Integer.getInteger("nbd.hostile.sessions", 3000);
  private static final int KINDS = 17;
  /** Kinds only a forced-TLS server gets: plaintext options, junk handshakes, STARTTLS twice. */
  private static final int TLS_KINDS = 3;

  @TempDir
  Path tmp;

  @Test
  void malformedSessionsLeaveServerAndCorrectClientUnharmed() throws Exception {
    run(null);
  }

  /**
   * The same sessions on a forced-TLS server, each upgraded with STARTTLS after valid client
   * flags, plus sessions that stay plaintext, send junk where the TLS handshake belongs or
   * STARTTLS twice; the correct client uses TLS too.
   */
  @Test
  void malformedSessionsOverTls() throws Exception {
    TestPki pki = TestPki.generateRsa(tmp.resolve("pki"));
    Path certs = java.nio.file.Files.createDirectories(tmp.resolve("client-certs"));
    Files.copy(pki.ca(), certs.resolve("ca-cert.pem"));
    NbdTls tls = new NbdTls(pki.cert("peer"), pki.key("peer"), pki.ca(),
        NbdTls.Mode.FORCED, false);
    run(new Tls(tls, TestPki.sslContext(pki.client()), certs));
  }

  private record Tls(NbdTls server, SSLContext client, Path certs) {}

  private void run(Tls tls) throws Exception {
    long seed = Long.getLong("nbd.hostile.seed", System.nanoTime());
    System.out.println("hostile seed " + seed + " (replay: -Dnbd.hostile.seed=" + seed + ")"
        + (tls == null ? "" : " over TLS"));
    BlockVolume v = volume("vol", 32L << 20);
    NbdServer s = NbdServer.builder().port(0).addExport("vol", v)
        .maxInFlightRequests(64).maxInFlightBytes(16L << 20)
        .tls(tls == null ? null : tls.server())
        .handshakeTimeout(Duration.ofSeconds(5)).start();
    servers.add(s);
    Path stop = tmp.resolve("stop");
    String uri = tls == null ? s.uri("vol")
        : s.uri("vol") + "?tls-certificates=" + tls.certs();
    SSLContext clientTls = tls == null ? null : tls.client();
    int kinds = tls == null ? KINDS : KINDS + TLS_KINDS;
    // nbdsh -u refuses tls-certificates in a URI: the TLS client connects in its script.
    Process good = tls == null
        ? Tools.start(Map.of("PATH", "/usr/bin:/bin"), null, "nbdsh", "-u", uri, "-c",
            correctClient(seed, stop))
        : Tools.start(Map.of("PATH", "/usr/bin:/bin"), null, "nbdsh", "-c", String.join("\n",
            "h.set_tls(nbd.TLS_REQUIRE)",
            "h.set_tls_certificates('" + tls.certs() + "')",
            "h.set_export_name('vol')",
            "h.connect_tcp('127.0.0.1', '" + s.port() + "')",
            "assert h.get_tls_negotiated()",
            correctClient(seed, stop)));
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int i = 0; i < SESSIONS; i++) {
        int session = i;
        pool.execute(() -> {
          Random r = new Random(seed * 31 + session);
          int kind = r.nextInt(kinds);
          try {
            hostile(kind, r, s.port(), clientTls);
          } catch (Throwable t) {
            failures.add("session " + session + " kind " + kind + ": " + t);
          }
        });
      }
      pool.shutdown();
      assertThat(pool.awaitTermination(300, TimeUnit.SECONDS)).as("sessions finished").isTrue();
    } finally {
      pool.shutdownNow();
      Files.writeString(stop, "stop");
    }
    try {
      assertThat(good.waitFor(120, TimeUnit.SECONDS)).as("correct client finished").isTrue();
      String out = Tools.read(Tools.outFile(good));
      assertThat(good.exitValue()).as("correct client: " + out
          + Tools.read(Tools.errFile(good))).isZero();
      assertThat(out).contains("GOOD");
    } finally {
      Tools.kill(good);
    }
    assertThat(List.copyOf(failures)).as("hostile sessions answered wrongly").isEmpty();
    Tools.run(TOOL_TIMEOUT, "nbdinfo", uri).ok();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (s.connectionCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(s.connectionCount()).as("connections left open").isZero();
    s.close();
    deadline = System.nanoTime() + 10_000_000_000L;
    while (serverThreads() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(serverThreads()).as("server threads left after close").isZero();
  }

  private static long serverThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("torus-nbd")).count();
  }

  private static String correctClient(long seed, Path stop) {
    return String.join("\n",
        "import os, random",
        "random.seed(" + seed + ")",
        "size = h.get_size()",
        "model = bytearray(size)",
        "n = 0",
        "while not os.path.exists('" + stop + "') or n < 50:",
        "    off = random.randrange(0, size - 1)",
        "    ln = random.randint(1, min(262144, size - off))",
        "    data = random.randbytes(ln)",
        "    fl = nbd.CMD_FLAG_FUA if random.random() < 0.1 else 0",
        "    h.pwrite(data, off, fl)",
        "    model[off:off + ln] = data",
        "    ro = random.randrange(0, size - 1)",
        "    rl = random.randint(1, min(262144, size - ro))",
        "    assert h.pread(rl, ro) == model[ro:ro + rl], (ro, rl)",
        "    n += 1",
        "    if n % 50 == 0:",
        "        h.flush()",
        "for off in range(0, size, 1 << 22):",
        "    assert h.pread(1 << 22, off) == model[off:off + (1 << 22)], off",
        "print('GOOD', n)");
  }

  /** One malformed session of the given kind; throws if the server's answer is wrong. */
  private static void hostile(int kind, Random r, int port, SSLContext tls)
      throws IOException {
    try (RawClient c = new RawClient(port, tls)) {
      switch (kind) {
        case 0 -> { // random garbage instead of client flags
          byte[] junk = new byte[1 + r.nextInt(4096)];
          r.nextBytes(junk);
          junk[0] |= (byte) 0x80; // unknown client flag bit: server must close
          ignoreReset(() -> {
            c.out().write(junk);
            c.flush();
          });
          c.expectClosed();
        }
        case 1 -> { // unknown client flags
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | (1 << (2 + r.nextInt(30))));
          c.expectClosed();
        }
        case 2 -> { // bad option magic
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          byte[] junk = new byte[16];
          r.nextBytes(junk);
          junk[0] = 0x12;
          ignoreReset(() -> {
            c.out().write(junk);
            c.flush();
          });
          c.expectClosed();
        }
        case 3 -> { // option claiming up to 4 GiB of data: ERR_TOO_BIG, nothing allocated
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          long len = r.nextBoolean() ? 0xFFFFFFFFL : 65537 + r.nextInt(1 << 30);
          c.optionHeader(Nbd.OPT_GO, len);
          c.out().write(new byte[r.nextInt(8192)]);
          c.flush();
          RawClient.OptionReply rep = c.optionReply();
          assertThat(rep.type()).isEqualTo(Nbd.REP_ERR_TOO_BIG);
        }
        case 4 -> { // EXPORT_NAME claiming 4 GiB: disconnect
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
          c.optionHeader(Nbd.OPT_EXPORT_NAME, 0xFFFFFFF0L);
          c.flush();
          c.expectClosed();
        }
        case 5 -> { // INFO whose name length lies, then ABORT
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          byte[] d = RawClient.goData("vol");
          d[0] = (byte) r.nextInt(256);
          d[2] = (byte) (1 + r.nextInt(200));
          c.option(Nbd.OPT_INFO, d);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
          c.option(Nbd.OPT_ABORT, new byte[0]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
          c.expectClosed();
        }
        case 6 -> { // unknown option, unknown export, meta context before structured
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          c.option(12 + r.nextInt(1 << 20), new byte[r.nextInt(100)]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_UNSUP);
          c.option(Nbd.OPT_GO, RawClient.goData("no-such-export"));
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
          c.option(Nbd.OPT_SET_META_CONTEXT, new byte[8]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
          c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
          byte[] m = new byte[12]; // name "" + query count 2^32-1 with no queries
          m[4] = m[5] = m[6] = m[7] = (byte) 0xFF;
          c.option(Nbd.OPT_LIST_META_CONTEXT, java.util.Arrays.copyOf(m, 8));
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
        }
        case 7 -> { // vanish mid-option
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          c.optionHeader(Nbd.OPT_GO, 1000);
          c.out().write(new byte[r.nextInt(1000)]);
          c.flush();
        }
        case 8 -> { // vanish right after the greeting
        }
        case 17 -> { // plaintext options on a server that requires TLS, then ABORT
          c.clientFlagsPlain(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          int[] opts = {Nbd.OPT_LIST, Nbd.OPT_GO, Nbd.OPT_INFO, Nbd.OPT_STRUCTURED_REPLY,
              12 + r.nextInt(1000)};
          int opt = opts[r.nextInt(opts.length)];
          c.option(opt, opt == Nbd.OPT_GO || opt == Nbd.OPT_INFO ? RawClient.goData("vol")
              : new byte[0]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_TLS_REQD);
          if (r.nextBoolean()) {
            c.option(Nbd.OPT_EXPORT_NAME, "vol".getBytes(java.nio.charset.StandardCharsets.UTF_8));
          } else {
            c.option(Nbd.OPT_ABORT, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
          }
          c.expectClosed();
        }
        case 18 -> { // STARTTLS acknowledged, then plaintext or junk instead of a ClientHello
          c.clientFlagsPlain(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          c.option(Nbd.OPT_STARTTLS, new byte[0]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
          byte[] junk = new byte[1 + r.nextInt(2048)];
          r.nextBytes(junk);
          if (r.nextBoolean()) {
            junk = java.util.Arrays.copyOf(RawClient.goData("vol"), 16);
          }
          byte[] j = junk;
          ignoreReset(() -> {
            c.optionHeader(Nbd.OPT_LIST, 0);
            c.out().write(j);
            c.flush();
          });
          c.expectClosed();
        }
        case 19 -> { // STARTTLS inside TLS: ERR_INVALID, and the session goes on
          c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
          c.option(Nbd.OPT_STARTTLS, new byte[0]);
          assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
          c.option(Nbd.OPT_GO, RawClient.goData("vol"));
          int type;
          do {
            type = c.optionReply().type();
            assertThat(type).as("GO reply type").isGreaterThan(0);
          } while (type != Nbd.REP_ACK);
          c.request(0, Nbd.CMD_DISC, r.nextLong(), 0, 0);
          c.flush();
          c.expectClosed();
        }
        default -> transmission(kind, r, c);
      }
    }
  }

  private static void transmission(int kind, Random r, RawClient c) throws IOException {
    c.handshake("vol");
    long cookie = r.nextLong();
    switch (kind) {
      case 9 -> { // bad request magic
        ignoreReset(() -> {
          c.out().writeInt(0xdeadbeef);
          c.out().write(new byte[24]);
          c.flush();
        });
        c.expectClosed();
      }
      case 10 -> { // READ of 4 GiB
        c.request(0, Nbd.CMD_READ, cookie, 0, 0xFFFFFFFFL);
        c.flush();
        assertThat(c.simpleReplyError(cookie)).isEqualTo(Nbd.EOVERFLOW);
      }
      case 11 -> { // offset overflow: offset + length wraps around 2^64
        c.request(0, Nbd.CMD_READ, cookie, -512L - r.nextInt(4096), 1024);
        c.request(0, Nbd.CMD_TRIM, cookie + 1, Long.MAX_VALUE, 0xFFFFFFFFL);
        c.flush();
        assertThat(c.simpleReplyError(cookie)).isEqualTo(Nbd.EINVAL);
        assertThat(c.simpleReplyError(cookie + 1)).isEqualTo(Nbd.EINVAL);
      }
      case 12 -> { // unknown command, unknown flag
        c.request(0, 8 + r.nextInt(60000), cookie, 0, 512);
        c.request(1 << (5 + r.nextInt(11)), Nbd.CMD_READ, cookie + 1, 0, 512);
        c.flush();
        assertThat(c.simpleReplyError(cookie)).isEqualTo(Nbd.EINVAL);
        assertThat(c.simpleReplyError(cookie + 1)).isEqualTo(Nbd.EINVAL);
      }
      case 13 -> { // WRITE announcing 16 MiB, vanishing after part of it
        c.request(0, Nbd.CMD_WRITE, cookie, 0, 16 << 20);
        c.out().write(new byte[r.nextInt(1 << 20)]);
        c.flush();
      }
      case 14 -> { // 200 requests in flight, then gone without reading a reply
        for (int i = 0; i < 200; i++) {
          c.request(0, Nbd.CMD_READ, cookie + i, r.nextInt(32 << 20 - 65536), 65536);
        }
        c.flush();
      }
      case 15 -> { // WRITE announcing 4 GiB: the payload is discarded, never buffered
        c.request(0, Nbd.CMD_WRITE, cookie, 0, 0xFFFFFFFFL);
        c.out().write(new byte[r.nextInt(256 << 10)]);
        c.flush();
      }
      default -> { // a well-formed READ past the end still gets EINVAL, then DISC
        c.request(0, Nbd.CMD_READ, cookie, 32L << 20, 1);
        c.request(0, Nbd.CMD_DISC, cookie + 1, 0, 0);
        c.flush();
        assertThat(c.simpleReplyError(cookie)).isEqualTo(Nbd.EINVAL);
        c.expectClosed();
      }
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private static void ignoreReset(IoAction a) {
    try {
      a.run();
    } catch (IOException e) {
      // the server may close before everything is sent
    }
  }
}
