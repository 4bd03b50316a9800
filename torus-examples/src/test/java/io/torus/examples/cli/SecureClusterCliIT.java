package io.torus.examples.cli;

import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static io.torus.examples.cli.TorusProcesses.tool;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import io.torus.testing.tls.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured cluster run from the command line only, with the real {@code torus.jar}:
 *
 * <ul>
 *   <li>etcd serving clients over TLS with {@code --client-cert-auth}: three {@code torus node}
 *       processes with peer mutual TLS ({@code --peer-tls-*} from the environment) and the etcd
 *       client certificate from a {@code --config} file; a volume imported and exported back
 *       through the CLI; a node without the client certificate is refused;
 *   <li>etcd with authentication enabled by {@code etcdctl}: a node and the admin commands
 *       authenticate with {@code --etcd-user} and the password from {@code $TORUS_ETCD_PASSWORD}
 *       or {@code --etcd-password-file}; a wrong password is refused.
 * </ul>
 *
 * Certificates are made by keytool ({@link TestPki}) in the test's temporary directory.
 */
class SecureClusterCliIT {
  @TempDir
  Path dir;

  private EtcdCluster etcd;
  private TorusProcesses torus;
  private TorusProcesses other;

  @AfterEach
  void cleanUp() throws InterruptedException {
    try {
      if (torus != null) {
        torus.close();
      }
      if (other != null) {
        other.close();
      }
    } finally {
      if (etcd != null) {
        etcd.close();
      }
    }
  }

  @Test
  void clientCertificateAuthAndPeerTls() throws Exception {
    TestPki pki = TestPki.generate(dir.resolve("pki"));
    etcd = EtcdCluster.builder().members(1).tls(pki.peer(), pki.client()).build();
    etcd.start();
    Path config = Files.writeString(dir.resolve("torus.properties"),
        "# etcd over TLS with a client certificate\n"
            + "etcd=" + etcd.endpoint(0) + "\n"
            + "etcd-ca=" + pki.ca() + "\n"
            + "etcd-cert=" + pki.cert("client") + "\n"
            + "etcd-key=" + pki.key("client") + "\n");
    torus = new TorusProcesses(dir).env("TORUS_CONFIG", config.toString())
        .env("TORUS_PEER_TLS_CERT", pki.cert("peer").toString())
        .env("TORUS_PEER_TLS_KEY", pki.key("peer").toString())
        .env("TORUS_PEER_TLS_CA", pki.ca().toString());

    assertThat(torus.ok("init", "--replication", "2")).contains("new volumes get 2 copies");
    for (int i = 0; i < 3; i++) {
      torus.start("node ready", "node", "--data", dir.resolve("n" + i).toString(),
          "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort());
    }
    assertThat(torus.ok("status")).contains("peers: 3 up, 0 down");

    byte[] data = new byte[4 << 20];
    new Random(7).nextBytes(data);
    Path src = Files.write(dir.resolve("src.img"), data);
    torus.ok("volume", "import", src.toString(), "vol1");
    assertThat(torus.ok("volume", "list")).contains("vol1");
    Path back = dir.resolve("back.img");
    torus.ok("volume", "export", "vol1", back.toString());
    assertThat(Files.readAllBytes(back)).isEqualTo(data);

    // the CA but no client certificate: etcd refuses the TLS handshake
    other = new TorusProcesses(dir).env("TORUS_ETCD", etcd.endpoint(0))
        .env("TORUS_ETCD_CA", pki.ca().toString());
    TorusProcesses.Result refused = other.run("node", "--data", dir.resolve("n9").toString(),
        "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort());
    assertThat(refused.exit()).as(refused.all()).isNotZero();
    assertThat(refused.err()).as(refused.all()).startsWith("torus: ").hasLineCount(1)
        .containsIgnoringCase("TLS");
    System.out.println("without a client certificate: " + refused.err());
  }

  @Test
  void etcdAuthentication() throws Exception {
    requireTool("etcdctl", "etcd-client");
    etcd = EtcdCluster.builder().members(1).build();
    etcd.start();
    String ep = etcd.endpoint(0);
    etcdctl(ep, "user", "add", "root:root-secret");
    etcdctl(ep, "role", "add", "torus");
    etcdctl(ep, "role", "grant-permission", "torus", "--prefix=true", "readwrite", "/secure/");
    etcdctl(ep, "user", "add", "torus:torus-secret");
    etcdctl(ep, "user", "grant-role", "torus", "torus");
    etcdctl(ep, "auth", "enable");

    torus = new TorusProcesses(dir).env("TORUS_ETCD", ep).env("TORUS_ETCD_PREFIX", "/secure")
        .env("TORUS_ETCD_USER", "torus").env("TORUS_ETCD_PASSWORD", "torus-secret");
    assertThat(torus.ok("init", "--replication", "1")).contains("new volumes get 1 copies");
    Path pw = Files.writeString(dir.resolve("etcd-password"), "torus-secret\n");
    for (int i = 0; i < 2; i++) {
      torus.start("node ready", "node", "--data", dir.resolve("n" + i).toString(),
          "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort(),
          "--etcd-password-file", pw.toString());
    }
    assertThat(torus.ok("volume", "create", "vol1", "16MiB")).contains("16 MiB");
    assertThat(torus.ok("volume", "list")).contains("vol1");
    assertThat(torus.ok("status")).contains("peers: 2 up, 0 down");

    Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-the-password\n");
    TorusProcesses.Result refused = torus.run("node", "--data", dir.resolve("n9").toString(),
        "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort(),
        "--etcd-password-file", wrong.toString());
    assertThat(refused.exit()).as(refused.all()).isNotZero();
    assertThat(refused.err()).as(refused.all()).startsWith("torus: ").hasLineCount(1)
        .contains("etcd refused the credentials").doesNotContain("not-the-password")
        .doesNotContain("torus-secret");

    // without credentials the keys under the prefix are out of reach
    other = new TorusProcesses(dir).env("TORUS_ETCD", ep).env("TORUS_ETCD_PREFIX", "/secure");
    TorusProcesses.Result anonymous = other.run("volume", "list");
    assertThat(anonymous.exit()).as(anonymous.all()).isNotZero();
    assertThat(anonymous.err()).as(anonymous.all()).startsWith("torus: ").hasLineCount(1)
        .contains("needs --etcd-user");
    System.out.println("wrong password: " + refused.err() + "anonymous: " + anonymous.err());
  }

  private static void etcdctl(String endpoint, String... args) throws Exception {
    String[] cmd = new String[args.length + 3]; // run before auth is enabled: no --user
    cmd[0] = "etcdctl";
    cmd[1] = "--endpoints=" + endpoint;
    cmd[2] = "--command-timeout=10s";
    System.arraycopy(args, 0, cmd, 3, args.length);
    tool(cmd);
  }
}
