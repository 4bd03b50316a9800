package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.tls.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD over TLS ({@code NBD_OPT_STARTTLS}) with clients nobody here wrote: nbdinfo, nbdcopy
 * and nbdsh (libnbd, GnuTLS) and qemu-img/qemu-io (QEMU, GnuTLS), in forced and optional
 * mode, with and without client certificate verification.
 *
 * <p>Certificates come from {@link TestPki} (RSA: GnuTLS reads those keys) and are laid out as libnbd and qemu look for them
 * in a directory: {@code ca-cert.pem} and {@code client-cert.pem}/{@code client-key.pem}.
 */
@Timeout(300)
class TlsIT extends NbdITBase {
  @TempDir
  static Path pkiDir;
  static TestPki pki;
  /** CA, and the client certificate of the cluster CA. */
  static Path client;
  /** CA only: no client certificate. */
  static Path anonymous;
  /** CA, and a client certificate from another CA. */
  static Path rogue;

  @TempDir
  Path tmp;

  @BeforeAll
  static void certificates() throws IOException {
    pki = TestPki.generateRsa(pkiDir.resolve("pki"));
    client = clientDir("client", "client");
    anonymous = clientDir("anonymous", null);
    rogue = clientDir("rogue", "rogue");
  }

  private static Path clientDir(String name, String identity) throws IOException {
    Path d = Files.createDirectories(pkiDir.resolve(name));
    Files.copy(pki.ca(), d.resolve("ca-cert.pem"));
    if (identity != null) {
      Files.copy(pki.cert(identity), d.resolve("client-cert.pem"));
      Files.copy(pki.key(identity), d.resolve("client-key.pem"));
    }
    return d;
  }

  /** The server's TLS settings: the {@code peer} certificate (IP SAN 127.0.0.1). */
  static NbdTls serverTls(NbdTls.Mode mode) {
    return new NbdTls(pki.cert("peer"), pki.key("peer"), pki.ca(), mode, false);
  }

  private NbdServer serveTls(NbdTls tls, String name, long size) {
    NbdServer s = NbdServer.builder().port(0).tls(tls)
        .addExport(NbdExport.builder(name, volume(name, size)).build()).start();
    servers.add(s);
    return s;
  }

  static String nbds(NbdServer s, String export, Path certs) {
    return "nbds://127.0.0.1:" + s.port() + "/" + export + "?tls-certificates=" + certs;
  }

  private static Tools.Result nbdinfo(String... args) throws Exception {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "nbdinfo";
    System.arraycopy(args, 0, cmd, 1, args.length);
    return Tools.run(TOOL_TIMEOUT, cmd);
  }

  @Test
  void nbdinfoAndNbdcopyReadAndWriteOverTls() throws Exception {
    NbdServer s = serveTls(serverTls(NbdTls.Mode.FORCED), "vol", 16L << 20);
    String uri = nbds(s, "vol", client);
    assertThat(s.uri("vol")).startsWith("nbds://");
    String json = nbdinfo("--json", uri).ok().out();
    assertThat(NbdInfoIT.number(json, "export-size")).isEqualTo(16L << 20);
    assertThat(nbdinfo("--is", "tls", uri).exit()).as("nbdinfo --is tls").isZero();
    assertThat(nbdinfo("--json", "--list", uri).ok().out()).contains("\"export-name\": \"vol\"");

    Path src = tmp.resolve("src.raw");
    byte[] data = new byte[16 << 20];
    new Random(7).nextBytes(data);
    Files.write(src, data);
    Tools.run(TOOL_TIMEOUT, "nbdcopy", "--flush", src.toString(), uri).ok();
    Path back = tmp.resolve("back.raw");
    Tools.run(TOOL_TIMEOUT, "nbdcopy", "--no-extents", uri, back.toString()).ok();
    assertThat(Files.mismatch(src, back)).as("bytes read back over TLS").isEqualTo(-1L);
  }

  @Test
  void nbdshWithSetTls() throws Exception {
    NbdServer s = serveTls(serverTls(NbdTls.Mode.FORCED), "vol", 8L << 20);
    String script = String.join("\n",
        "h.set_tls(nbd.TLS_REQUIRE)",
        "h.set_tls_certificates('" + client + "')",
        "h.set_export_name('vol')",
        "h.connect_tcp('127.0.0.1', '" + s.port() + "')",
        "assert h.get_tls_negotiated()",
        "data = bytes(range(256)) * 4096",
        "h.pwrite(data, 65536, nbd.CMD_FLAG_FUA)",
        "h.flush()",
        "assert h.pread(len(data), 65536) == data",
        "assert h.pread(512, 0) == bytes(512)",
        "h.shutdown()",
        "print('TLS-OK')");
    String out = Tools.run(TOOL_TIMEOUT, Map.of("PATH", "/usr/bin:/bin"), null,
        "nbdsh", "-c", script).ok().out();
    assertThat(out).contains("TLS-OK");
  }

  @Test
  void qemuImgAndQemuIoWithTlsCredsObject() throws Exception {
    NbdServer s = serveTls(serverTls(NbdTls.Mode.FORCED), "vol", 32L << 20);
    String object = "tls-creds-x509,id=tls0,endpoint=client,dir=" + client;
    String image = "driver=nbd,host=127.0.0.1,port=" + s.port() + ",export=vol,tls-creds=tls0";
    String info = Tools.run(TOOL_TIMEOUT, "qemu-img", "info", "--output=json",
        "--object", object, "--image-opts", image).ok().out();
    assertThat(info).contains("\"virtual-size\": " + (32L << 20));
    String raw = "driver=raw,file.driver=nbd,file.host=127.0.0.1,file.port=" + s.port()
        + ",file.export=vol,file.tls-creds=tls0";
    String out = Tools.run(TOOL_TIMEOUT, "qemu-io", "--object", object, "--image-opts",
        "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 3M 64k", "-c", "flush",
        "-c", "read -P 0xab 0 1M", "-c", "read -P 0xcd 3M 64k", "-c", "read -P 0 2M 1M",
        raw).ok().out();
    assertThat(out).doesNotContain("Pattern verification failed", "error");
    assertThat(out.lines().filter(l -> l.matches("read \\d+/\\d+ bytes at offset \\d+")))
        .as(out).hasSize(3);
  }

  @Test
  void plaintextClientIsRefusedByForcedTlsAndServedByOptional() throws Exception {
    NbdServer forced = serveTls(serverTls(NbdTls.Mode.FORCED), "f", 4L << 20);
    String plain = "nbd://127.0.0.1:" + forced.port() + "/f";
    Tools.Result refused = nbdinfo(plain);
    assertThat(refused.exit()).as("plaintext nbdinfo against forced TLS").isNotZero();
    assertThat(refused.err()).isNotBlank();
    Tools.Result qemu = Tools.run(TOOL_TIMEOUT, "qemu-img", "info", plain);
    assertThat(qemu.exit()).as("plaintext qemu-img against forced TLS").isNotZero();
    assertThat(nbdinfo("--json", nbds(forced, "f", client)).ok().out())
        .contains("\"export-size\": " + (4L << 20));

    NbdServer optional = serveTls(serverTls(NbdTls.Mode.OPTIONAL), "o", 4L << 20);
    assertThat(optional.uri("o")).startsWith("nbd://");
    assertThat(nbdinfo("--json", optional.uri("o")).ok().out())
        .contains("\"export-size\": " + (4L << 20));
    assertThat(nbdinfo("--is", "tls", optional.uri("o")).exit()).as("plaintext").isEqualTo(2);
    assertThat(nbdinfo("--is", "tls", nbds(optional, "o", client)).exit()).as("upgraded")
        .isZero();
    awaitNoConnections(forced);
    awaitNoConnections(optional);
  }

  @Test
  void clientCertificatesAreVerifiedWhenAsked() throws Exception {
    NbdServer s = serveTls(serverTls(NbdTls.Mode.FORCED).withClientVerification(pki.ca()),
        "vol", 4L << 20);
    assertThat(nbdinfo("--json", nbds(s, "vol", client)).ok().out())
        .contains("\"export-size\": " + (4L << 20));
    Tools.Result none = nbdinfo(nbds(s, "vol", anonymous));
    assertThat(none.exit()).as("no client certificate: " + none.err()).isNotZero();
    Tools.Result other = nbdinfo(nbds(s, "vol", rogue));
    assertThat(other.exit()).as("certificate from another CA: " + other.err()).isNotZero();
    String object = "tls-creds-x509,id=tls0,endpoint=client,dir=" + anonymous;
    Tools.Result qemu = Tools.run(TOOL_TIMEOUT, "qemu-img", "info", "--object", object,
        "--image-opts", "driver=nbd,host=127.0.0.1,port=" + s.port()
            + ",export=vol,tls-creds=tls0");
    assertThat(qemu.exit()).as("qemu without a client certificate").isNotZero();
    // The server keeps serving verified clients.
    assertThat(nbdinfo("--is", "tls", nbds(s, "vol", client)).exit()).isZero();
    awaitNoConnections(s);

    NbdServer lax = serveTls(serverTls(NbdTls.Mode.FORCED), "lax", 4L << 20);
    assertThat(nbdinfo("--is", "tls", nbds(lax, "lax", anonymous)).exit())
        .as("no client certificate needed without verification").isZero();
  }

  static void awaitNoConnections(NbdServer s) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (s.connectionCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(s.connectionCount()).as("connections left open").isZero();
  }
}
