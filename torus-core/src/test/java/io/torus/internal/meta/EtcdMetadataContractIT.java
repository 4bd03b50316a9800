package io.torus.internal.meta;

import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The metadata contract against a real one-member etcd; each test gets its own prefix. */
class EtcdMetadataContractIT extends MetadataContract {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();

  @Override
  protected MetadataService newService() {
    return EtcdMetadataService.builder()
        .endpoints(ETCD.endpoints())
        .rootPrefix("/contract/t" + TEST.incrementAndGet())
        .leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(5))
        .build();
  }
}
