package io.torus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Validation of the builder's etcd credentials and trust-only TLS, without starting a node. */
class TorusBuilderSecurityTest {
  @TempDir
  Path dir;

  @Test
  void credentialsNeedBothUserAndPassword() {
    assertThatThrownBy(() -> Torus.builder().etcdCredentials("torus", null))
        .isInstanceOf(TorusException.class).hasMessageContaining("no password for user torus")
        .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL);
    assertThatThrownBy(() -> Torus.builder().etcdCredentials("torus", new char[0]))
        .isInstanceOf(TorusException.class).hasMessageContaining("no password");
    assertThatThrownBy(() -> Torus.builder().etcdCredentials(null, "s3cret".toCharArray()))
        .isInstanceOf(TorusException.class).hasMessageContaining("a password without a user")
        .hasMessageNotContaining("s3cret");
    assertThatThrownBy(() -> Torus.builder().etcdCredentials("", null))
        .isInstanceOf(TorusException.class).hasMessageContaining("need a user and a password");
  }

  @Test
  void credentialsApplyOnlyToANodeUsingEtcd() {
    TorusBuilder b = Torus.builder().storeType("memory").etcdCredentials("torus",
        "pw".toCharArray());
    assertThatThrownBy(b::build).isInstanceOf(TorusException.class)
        .hasMessageContaining("etcdCredentials apply to a node using etcd");
  }

  @Test
  void trustOnlySettingsAreForEtcdNotPeers() throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.crt"), "not parsed here");
    TlsConfig trust = TlsConfig.trustOnly(ca);
    assertThat(trust.hasCertificate()).isFalse();
    assertThat(trust.certificateChain()).isNull();
    Torus.builder().etcdTls(trust); // accepted
    assertThatThrownBy(() -> Torus.builder().tls(trust)).isInstanceOf(TorusException.class)
        .hasMessageContaining("peer TLS is mutual");
    assertThatThrownBy(() -> new TlsConfig(ca, ca, null, false))
        .isInstanceOf(TorusException.class).hasMessageContaining("no private key");
  }
}
