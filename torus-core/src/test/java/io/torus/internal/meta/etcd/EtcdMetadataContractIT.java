package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.VolumeSpec;
import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The metadata contract against a real one-member etcd; each test gets its own prefix. */
class EtcdMetadataContractIT extends MetadataContract {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();

  /** The root prefix of the last service made. */
  private String prefix;

  @Override
  protected MetadataService newService() {
    prefix = "/contract/t" + TEST.incrementAndGet();
    return service(prefix);
  }

  @Override
  protected MetadataService reopen() {
    meta.close();
    return service(prefix);
  }

  private static MetadataService service(String rootPrefix) {
    return EtcdMetadataService.builder()
        .endpoints(ETCD.endpoints())
        .rootPrefix(rootPrefix)
        .leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(5))
        .build();
  }

  @Test
  void rootPrefixesIsolateClusters() {
    try (MetadataService a = newService(); MetadataService b = newService()) {
      a.createVolume(VolumeSpec.builder("same-name", 1 << 20).replication(1).build());
      b.createVolume(VolumeSpec.builder("same-name", 2 << 20).replication(1).build());
      assertThat(a.volume("same-name").orElseThrow().size()).isEqualTo(1 << 20);
      assertThat(b.volume("same-name").orElseThrow().size()).isEqualTo(2 << 20);
      a.deleteVolume("same-name");
      assertThat(b.volume("same-name")).isPresent();
    }
  }
}
