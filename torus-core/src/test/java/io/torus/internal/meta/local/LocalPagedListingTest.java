package io.torus.internal.meta.local;

import io.torus.internal.meta.PagedListingContract;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.spi.MetadataService;
import java.time.Instant;
import java.util.List;

/** The paged-listing contract for the in-memory {@link LocalMetadataService}. */
class LocalPagedListingTest extends PagedListingContract {
  private LocalMetadataService service;

  @Override
  protected MetadataService newService() {
    service = LocalMetadataService.inMemory();
    return service;
  }

  @Override
  protected PeerRegistry peers() {
    return service.peers();
  }

  /** Each peer registers through a session of its own, which then ends. */
  @Override
  protected void addDownPeers(List<String> ids) {
    for (String id : ids) {
      LocalSession s = service.session();
      s.peers().register(new PeerInfo(id, "127.0.0.1:7000", 100, 0, 1, Instant.EPOCH));
      s.close();
    }
  }
}
