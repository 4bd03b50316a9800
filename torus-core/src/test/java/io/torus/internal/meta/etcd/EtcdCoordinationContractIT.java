package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.CoordinationContract;
import io.torus.internal.meta.PeerInfo;
import io.torus.spi.MetadataService;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The coordination contract against a real one-member etcd; each test its own prefix. */
class EtcdCoordinationContractIT extends CoordinationContract {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();
  private String prefix;

  @BeforeEach
  void newPrefix() {
    prefix = "/coordination/t" + TEST.incrementAndGet();
  }

  @Test
  void rootPrefixesKeepClustersApart() {
    try (Session a = newSession()) {
      prefix = prefix + "-other";
      try (Session b = newSession()) {
        a.coordination().peers().register(new PeerInfo("node-a", "127.0.0.1:7001", 1, 0, 1,
            Instant.EPOCH));
        a.coordination().ring().update(0, new byte[] {1});
        assertThat(b.coordination().peers().peers()).isEmpty();
        assertThat(b.coordination().ring().read()).isEmpty();
        assertThat(b.coordination().authority().clusterToken())
            .isNotEqualTo(a.coordination().authority().clusterToken());
      }
    }
  }

  @Override
  protected Session newSession() {
    EtcdMetadataService m = EtcdMetadataService.builder().endpoints(ETCD.endpoints())
        .rootPrefix(prefix).leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(5)).build();
    return new Session() {
      @Override
      public MetadataService meta() {
        return m;
      }

      @Override
      public Coordination coordination() {
        return m;
      }

      @Override
      public void close() {
        m.close();
      }
    };
  }
}
