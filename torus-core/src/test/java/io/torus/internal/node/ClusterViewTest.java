package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.internal.meta.local.LocalSession;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.RingCodec;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/** A node's live view of the cluster. */
class ClusterViewTest {

  @Test
  void aNewViewHasTheStoredRingBeforeItsFirstRequest() {
    try (LocalMetadataService shared = LocalMetadataService.inMemory();
        LocalSession session = shared.session();
        PeerTransport transport = new PeerTransport("viewer", TransportOptions.defaults(),
            ForkJoinPool.commonPool())) {
      KetamaRing stored = new KetamaRing(1, List.of(new RingPeer("a", 1), new RingPeer("b", 1)));
      session.ring().update(0, RingCodec.encode(stored));
      for (int i = 0; i < 20; i++) { // the watch thread must not be what makes it work
        ClusterView view = new ClusterView(session, transport, null, () -> 0, () -> 0,
            Duration.ofSeconds(60), a -> a);
        try {
          assertThat(view.ring()).as("ring at once, try %d", i).isNotNull();
          assertThat(view.ring().members()).hasSize(2);
        } finally {
          view.close();
        }
      }
    }
  }
}
