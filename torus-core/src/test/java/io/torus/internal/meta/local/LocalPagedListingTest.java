package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.meta.PagedListingContract;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.PeerStatus;
import io.torus.spi.MetadataService;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

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

  /** The contract's down peers are what it takes them for: listed, and down. */
  @Test
  void peersOfEndedSessionsAreListedAsDown() {
    addDownPeers(List.of("gone-a", "gone-b"));
    assertThat(peers().peers()).extracting(PeerStatus::nodeId).contains("gone-a", "gone-b");
    assertThat(peers().peers()).filteredOn(p -> p.nodeId().startsWith("gone-"))
        .extracting(PeerStatus::up).containsOnly(false);
  }
}
