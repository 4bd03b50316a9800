package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.VolumeSpec;
import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;
import org.junit.jupiter.api.Test;

/** The metadata contract for {@link LocalMetadataService} kept in memory. */
class LocalMetadataServiceInMemoryTest extends MetadataContract {
  @Override
  protected MetadataService newService() {
    return LocalMetadataService.inMemory();
  }

  @Test
  void inMemoryServicesShareNothing() {
    try (MetadataService a = newService(); MetadataService b = newService()) {
      a.createVolume(VolumeSpec.builder("only-in-a", 1 << 20).replication(1).build());
      assertThat(a.volumes()).hasSize(1);
      assertThat(b.volumes()).isEmpty();
    }
  }
}
