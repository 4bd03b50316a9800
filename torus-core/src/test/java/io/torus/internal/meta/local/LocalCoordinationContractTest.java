package io.torus.internal.meta.local;

import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.CoordinationContract;
import io.torus.spi.MetadataService;
import org.junit.jupiter.api.AfterEach;

/** The coordination contract for sessions of one in-memory local service. */
class LocalCoordinationContractTest extends CoordinationContract {
  private final LocalMetadataService shared = LocalMetadataService.inMemory();

  @AfterEach
  void closeShared() {
    shared.close();
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
