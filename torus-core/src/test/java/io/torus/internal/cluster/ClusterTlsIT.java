package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockVolume;
import io.torus.TlsConfig;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.testing.etcd.EtcdCluster;
import io.torus.testing.tls.TestPki;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS cluster in one JVM: real etcd serving clients only over mutual TLS
 * ({@code --client-cert-auth}), two peer nodes speaking the peer protocol over mutual TLS,
 * certificates made by keytool for this class. Data written on one node replicates to the
 * other and reads back from a third; nodes without the cluster's certificates get nothing.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterTlsIT {
  private static final int MIB = 1 << 20;

  @TempDir static Path tmp;
  private static TestPki pki;
  private static EtcdCluster etcd;

  @BeforeAll
  static void start() {
    pki = TestPki.generate(tmp.resolve("pki"));
    etcd = EtcdCluster.builder().tls(pki.peer(), pki.client()).build();
    etcd.start();
  }

  @AfterAll
  static void stop() {
    if (etcd != null) {
      etcd.close();
    }
  }

  private static TorusBuilder node(String prefix, boolean peer, TlsConfig tls) {
    TorusBuilder b = Torus.builder().etcd(etcd.endpoints()).etcdPrefix(prefix)
        .etcdTls(pki.client()).peer(peer).peerTimeout(Duration.ofSeconds(2))
        .ioTimeout(Duration.ofSeconds(10)).cacheBytes(0).gcInterval(Duration.ZERO);
    return tls == null ? b : b.tls(tls);
  }

  private static byte[] read(BlockVolume v, long off, int len) {
    ByteBuffer b = ByteBuffer.allocate(len);
    v.read(off, b);
    return b.array();
  }

  /** Polls (bounded) until a flush on a volume with two replicas succeeds: both peers joined. */
  private static void awaitTwoPeers(Torus t, String volume) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    TorusException last = null;
    while (System.nanoTime() < deadline) {
      try (BlockVolume v = t.openVolume(volume)) {
        v.write(0, ByteBuffer.allocate(v.blockSize()));
        v.flush();
        return;
      } catch (TorusException e) {
        last = e;
        Thread.sleep(200);
      }
    }
    throw new AssertionError("the two TLS peers never became writable", last);
  }

  @Test
  void volumeWrittenOnOneNodeReadsBackElsewhereOverTls() throws Exception {
    String prefix = "/tls-rw";
    byte[] data = new byte[8 * MIB];
    new SplittableRandom(11).nextBytes(data);
    try (Torus b = node(prefix, true, pki.peer()).build()) {
      assertThat(b.nodeId()).isNotEmpty();
      try (Torus a = node(prefix, true, pki.peer()).build()) {
        a.createVolume(VolumeSpec.builder("vol", data.length).replication(2).build());
        awaitTwoPeers(a, "vol");
        try (BlockVolume v = a.openVolume("vol")) {
          for (int off = 0; off < data.length; off += MIB) {
            v.write(off, ByteBuffer.wrap(data, off, MIB));
          }
          v.flush();
        }
      }
      // Node a is gone: every block read now comes from b, over TLS, to a client-only node.
      try (Torus c = node(prefix, false, pki.client()).build();
          BlockVolume v = c.openVolumeReadOnly("vol")) {
        assertThat(read(v, 0, data.length)).isEqualTo(data);
      }
      // Without the cluster's certificate a node sees the metadata (etcd lets it in) but
      // no peer serves it a block.
      for (TlsConfig outsider : new TlsConfig[] {null, pki.rogue()}) {
        try (Torus d = node(prefix, false, outsider).build();
            BlockVolume v = d.openVolumeReadOnly("vol")) {
          assertThatThrownBy(() -> read(v, 0, MIB)).isInstanceOf(TorusException.class);
        }
      }
    }
  }

  @Test
  void tlsOnANodeThatIsNotClusteredIsAConfigurationError() {
    assertThatThrownBy(() -> Torus.builder().tls(pki.peer()).build().close())
        .isInstanceOf(TorusException.class).hasMessageContaining("clustered");
  }

  @Test
  void etcdRefusesNodesWithoutTheRightCertificates() {
    Duration t = Duration.ofSeconds(3);
    // Trusts another CA: the node cannot verify etcd's certificate.
    assertThatThrownBy(() -> Torus.builder().etcd(etcd.endpoints()).etcdPrefix("/tls-no")
        .etcdTls(pki.rogue()).peer(false).ioTimeout(t).build().close())
        .isInstanceOf(TorusException.class).hasMessageContaining("over TLS");
    // Trusts etcd but presents a certificate etcd's CA did not sign.
    assertThatThrownBy(() -> Torus.builder().etcd(etcd.endpoints()).etcdPrefix("/tls-no")
        .etcdTls(pki.rogueTrustingCluster()).peer(false).ioTimeout(t).build().close())
        .isInstanceOf(TorusException.class).hasMessageContaining("over TLS");
    // TLS settings with plain endpoints are a configuration error, reported at once.
    List<String> plain = etcd.endpoints().stream().map(e -> e.replace("https:", "http:"))
        .toList();
    assertThatThrownBy(() -> Torus.builder().etcd(plain).etcdTls(pki.client()).peer(false)
        .build().close())
        .isInstanceOf(TorusException.class).hasMessageContaining("https://");
  }
}
