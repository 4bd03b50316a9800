package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusClosedException;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.CoordinationContract;
import io.torus.internal.meta.PeerInfo;
import io.torus.spi.MetadataService;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The coordination contract for sessions of one in-memory local service. */
class LocalCoordinationContractTest extends CoordinationContract {
  private final LocalMetadataService shared = LocalMetadataService.inMemory();

  @AfterEach
  void closeShared() {
    shared.close();
  }

  @Test
  void closingTheSharedServiceEndsWhatEverySessionCanDo() {
    LocalSession a = shared.session();
    a.peers().register(new PeerInfo("node-a", "127.0.0.1:7001", 1, 0, 1, Instant.EPOCH));
    shared.close();
    assertThatThrownBy(a::volumes).isInstanceOf(TorusClosedException.class);
    a.close(); // ending a session of a closed service is quiet
  }

  @Override
  protected Session newSession() {
    LocalSession s = shared.session();
    return new Session() {
      @Override
      public MetadataService meta() {
        return s;
      }

      @Override
      public Coordination coordination() {
        return s;
      }

      @Override
      public void close() {
        s.close();
      }
    };
  }
}
