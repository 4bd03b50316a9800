package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;
import io.torus.testing.etcd.EtcdCluster;
import io.torus.testing.tls.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metadata contract against a real one-member etcd that serves clients only over mutual
 * TLS ({@code --client-cert-auth}), reached through {@link EtcdOptions#trustedCa()} and
 * {@link EtcdOptions#clientCertificate()}; certificates made by keytool for this class.
 */
class EtcdTlsMetadataContractIT extends MetadataContract {
  private static final AtomicInteger TEST = new AtomicInteger();

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

  @Test
  void aClientWithoutACertificateIsRefused() {
    // trusts the CA, but --client-cert-auth wants a certificate it does not present
    assertThatThrownBy(() -> EtcdMetadataService.builder()
        .endpoints(etcd.endpoints())
        .trustedCa(pki.ca())
        .rootPrefix("/contract-tls/nocert")
        .requestTimeout(Duration.ofSeconds(2))
        .build().close())
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("TLS");
  }

  @Override
  protected MetadataService newService() {
    return EtcdMetadataService.builder()
        .endpoints(etcd.endpoints())
        .trustedCa(pki.ca())
        .clientCertificate(pki.cert("client"), pki.key("client"))
        .rootPrefix("/contract-tls/t" + TEST.incrementAndGet())
        .leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(5))
        .build();
  }
}
