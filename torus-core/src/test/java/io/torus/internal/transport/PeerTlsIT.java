package io.torus.internal.transport;

import static io.torus.testing.Blocks.crc;
import static io.torus.testing.Blocks.block;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TlsConfig;
import io.torus.TorusException;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.testing.tls.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer protocol over mutual TLS on loopback, with certificates made by keytool for this
 * class: members of the cluster CA talk; outsiders, certificate-less and plain-TCP clients are
 * refused, and the server goes on serving members.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerTlsIT {
  private static final Duration D = Duration.ofSeconds(5);

  @TempDir static Path pkiDir;
  private static TestPki pki;

  @TempDir Path dir;
  private ExecutorService workers;
  private ExecutorService callbacks;
  private PeerServer server;

  @BeforeAll
  static void certificates() {
    pki = TestPki.generate(pkiDir.resolve("pki"));
  }

  @BeforeEach
  void start() {
    workers = Executors.newFixedThreadPool(4);
    callbacks = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-callback"));
    server = startServer(pki.peer());
  }

  private PeerServer startServer(TlsConfig tls) {
    StorePeerService svc = new StorePeerService("peer-1",
        List.of(new MemoryBlockStore("m0", 1L << 30)), dir.resolve("epochs"));
    return PeerServer.start(svc, workers, "127.0.0.1", 0, tls);
  }

  @AfterEach
  void stop() {
    server.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
  }

  private PeerTransport transport(TlsConfig tls) {
    return new PeerTransport("client", TransportOptions.defaults(), callbacks, tls);
  }


  private static BlockRef ref(int seq) {
    return new BlockRef(7, 2, seq, BlockKind.DATA);
  }

  /** Put, get, has, flush, stats through TLS, checking the server's IP SAN on the way. */
  @Test
  void membersRoundTripOverTls() throws Exception {
    try (PeerTransport t = transport(pki.client().withHostnameVerification(true))) {
      PeerClient c = t.client(server.address());
      ByteBuffer small = block(1, 4096);
      ByteBuffer big = block(2, 4 << 20);
      c.put(ref(1), 3, small, crc(small), false, D).get();
      c.put(ref(2), 3, big, crc(big), false, D).get();
      c.flush(D).get();
      assertThat(c.get(ref(1), D).get()).isEqualTo(small);
      assertThat(c.get(ref(2), D).get()).isEqualTo(big);
      assertThat(c.get(ref(3), D).get()).isNull();
      assertThat(c.has(List.of(ref(1), ref(3)), D).get()).containsExactly(true, false);
      assertThat(c.stats(D).get().nodeId()).isEqualTo("peer-1");
    }
    // A peer certificate works as a client identity too (peers dial each other).
    try (PeerTransport t = transport(pki.peer())) {
      assertThat(t.client(server.address()).get(ref(1), D).get()).isEqualTo(block(1, 4096));
    }
  }

  @Test
  void certificateFromAnotherCaIsRefusedAndLogged() throws Exception {
    String log = captureStderr(() -> {
      try (PeerTransport t = transport(pki.rogueTrustingCluster())) {
        ByteBuffer b = block(3, 4096);
        assertThatThrownBy(() -> t.client(server.address())
            .put(ref(1), 1, b, crc(b), false, D).join())
            .hasCauseInstanceOf(TorusException.class)
            .satisfies(e -> assertThat(((TorusException) e.getCause()).code())
                .isEqualTo(ErrorCode.EIO));
      }
    });
    assertThat(log).contains("refusing peer connection from").contains("TLS handshake failed");
    assertServerStillServesMembers();
  }

  /**
   * The JDK client above offers no certificate at all, since its only one is not from a CA the
   * server asks for; this client presents the outsider's certificate regardless, so the
   * server's chain validation itself is what refuses it.
   */
  @Test
  void presentedCertificateFromAnotherCaFailsValidation() throws Exception {
    SSLContext ctx = TestPki.sslContext(pki.rogueTrustingCluster(), true);
    String log = captureStderr(() -> {
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory()
          .createSocket("127.0.0.1", server.address().getPort())) {
        assertThat(refusedAtHandshakeOrFirstRead(s)).isTrue();
      }
    });
    assertThat(log).contains("refusing peer connection from").contains("PKIX");
    assertServerStillServesMembers();
  }

  @Test
  void clientRefusesAServerFromAnotherCa() throws Exception {
    try (PeerServer rogue = startServer(pki.rogue());
        PeerTransport t = transport(pki.client())) {
      assertThatThrownBy(() -> t.client(rogue.address()).stats(D).join())
          .hasCauseInstanceOf(TorusException.class)
          .hasMessageContaining("TLS handshake with peer");
    }
  }

  @Test
  void plainTcpClientIsRefused() throws Exception {
    try (PeerTransport t = transport(null)) {
      assertThatThrownBy(() -> t.client(server.address()).stats(D).join())
          .hasCauseInstanceOf(TorusException.class);
    }
    // A raw socket speaking the plain protocol gets no frame back, only a closed connection.
    try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
      s.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      byte[] hello = {0x08, 0x00, 0x10, 0x01};
      out.writeInt(2 + hello.length);
      out.writeShort(hello.length);
      out.write(hello);
      out.flush();
      assertThat(readToEnd(s.getInputStream())).isLessThanOrEqualTo(7);
    }
    assertServerStillServesMembers();
  }

  @Test
  void clientWithoutCertificateIsRefused() throws Exception {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(pki.ca())) {
      trust.setCertificateEntry("ca", java.security.cert.CertificateFactory
          .getInstance("X.509").generateCertificate(in));
    }
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory()
        .createSocket("127.0.0.1", server.address().getPort())) {
      assertThat(refusedAtHandshakeOrFirstRead(s)).isTrue();
    }
    assertServerStillServesMembers();
  }

  /**
   * Hostname checks: the peer certificate names 127.0.0.1 only; a server reached at 127.0.0.2
   * is accepted by default (the CA signature is what counts) and refused with
   * {@link TlsConfig#verifyHostname()}.
   */
  @Test
  void hostnameIsCheckedOnlyWhenAskedFor() throws Exception {
    StorePeerService svc = new StorePeerService("peer-2",
        List.of(new MemoryBlockStore("m1", 1L << 30)), dir.resolve("epochs2"));
    try (PeerServer other = PeerServer.start(svc, workers, "127.0.0.2", 0, pki.peer())) {
      try (PeerTransport t = transport(pki.client())) {
        assertThat(t.client(other.address()).stats(D).get().nodeId()).isEqualTo("peer-2");
      }
      try (PeerTransport t = transport(pki.client().withHostnameVerification(true))) {
        assertThatThrownBy(() -> t.client(other.address()).stats(D).join())
            .hasMessageContaining("TLS handshake with peer")
            .hasMessageContaining("127.0.0.2");
      }
    }
  }

  @Test
  void tlsClientToAPlainServerFails() throws Exception {
    try (PeerServer plain = startServer(null); PeerTransport t = transport(pki.client())) {
      assertThatThrownBy(() -> t.client(plain.address()).stats(D).join())
          .hasCauseInstanceOf(TorusException.class);
    }
  }

  @Test
  void unusableFilesFailFastNamingTheFiles() throws Exception {
    Path notAKey = dir.resolve("not-a-key.pem");
    Files.writeString(notAKey, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    TlsConfig bad = TlsConfig.ofPem(pki.ca(), pki.cert("peer"), notAKey);
    assertThatThrownBy(() -> transport(bad))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("bad peer TLS settings")
        .hasMessageContaining(notAKey.toString());
    assertThatThrownBy(() -> TlsConfig.ofPem(pki.ca(), dir.resolve("missing.crt"), notAKey))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("missing.crt");
  }

  private void assertServerStillServesMembers() throws Exception {
    try (PeerTransport t = transport(pki.peer())) {
      ByteBuffer b = block(9, 8192);
      PeerClient c = t.client(server.address());
      c.put(ref(9), 5, b, crc(b), false, D).get();
      assertThat(c.get(ref(9), D).get()).isEqualTo(b);
    }
  }

  /**
   * Whether the server refuses this TLS client. With TLS 1.3 the client may finish its side
   * of the handshake before the server rejects its certificate; the refusal then shows as an
   * alert or end of stream on the first read. Either way no frame comes back.
   */
  private static boolean refusedAtHandshakeOrFirstRead(SSLSocket s) throws IOException {
    s.setSoTimeout(5000);
    try {
      s.startHandshake();
      s.getOutputStream().write(new byte[] {0, 0, 0, 2, 0, 0});
      s.getOutputStream().flush();
      return s.getInputStream().read() < 0;
    } catch (javax.net.ssl.SSLException | java.net.SocketException e) {
      return true;
    }
  }

  /** Bytes read until end of stream or a reset (a refused connection may end either way). */
  private static int readToEnd(InputStream in) throws IOException {
    int n = 0;
    try {
      while (in.read() >= 0) {
        n++;
      }
    } catch (java.net.SocketException reset) {
      return n;
    }
    return n;
  }

  /** Runs {@code r} with System.err captured (slf4j-simple writes there) and returns it. */
  private static String captureStderr(ThrowingRunnable r) throws Exception {
    PrintStream old = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(buf, true, StandardCharsets.UTF_8);
    System.setErr(tee);
    try {
      r.run();
      // The server logs on its event loop; give the line a bounded moment to arrive.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!buf.toString(StandardCharsets.UTF_8).contains("refusing peer connection")
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    } finally {
      System.setErr(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    old.print(out);
    return out;
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }
}
