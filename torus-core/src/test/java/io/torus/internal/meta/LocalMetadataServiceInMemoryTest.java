package io.torus.internal.meta;

import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;

/** The metadata contract for {@link LocalMetadataService} kept in memory. */
class LocalMetadataServiceInMemoryTest extends MetadataContract {
  @Override
  protected MetadataService newService() {
    return LocalMetadataService.inMemory();
  }
}
