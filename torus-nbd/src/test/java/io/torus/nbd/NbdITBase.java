package io.torus.nbd;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the real-client integration tests: a single-JVM in-memory {@link Torus} node per
 * test, helpers to export its volumes, and, after each test, the server stopped, volumes
 * closed and no Netty buffer leaked.
 */
abstract class NbdITBase {
  static {
    LeakTracker.install();
  }

  static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);

  Torus torus;
  final List<NbdServer> servers = new ArrayList<>();
  final List<BlockVolume> volumes = new ArrayList<>();

  @BeforeEach
  void startNode() {
    torus = newNode();
  }

  /** The node of this test: by default single JVM, memory store, in-memory metadata. */
  Torus newNode() {
    return Torus.builder().storeCapacity(3L << 30).build();
  }

  @AfterEach
  void stopAll() throws Exception {
    try {
      for (NbdServer s : servers) {
        s.close();
      }
      for (BlockVolume v : volumes) {
        v.close();
      }
      if (torus != null) {
        torus.close();
      }
    } finally {
      LeakTracker.assertNoLeaks();
    }
  }

  /** Creates and opens a volume of the real engine (replication 1, default block size). */
  BlockVolume volume(String name, long size) {
    torus.createVolume(VolumeSpec.builder(name, size).replication(1).build());
    BlockVolume v = torus.openVolume(name);
    volumes.add(v);
    return v;
  }

  /** Starts a server on a free loopback port with the given exports. */
  NbdServer serve(NbdExport... exports) {
    NbdServer.Builder b = NbdServer.builder().port(0);
    for (NbdExport e : exports) {
      b.addExport(e);
    }
    NbdServer s = b.start();
    servers.add(s);
    return s;
  }

  /** Starts a server exporting one new volume named {@code name} read-write. */
  NbdServer serve(String name, long size) {
    return serve(NbdExport.builder(name, volume(name, size)).build());
  }
}
