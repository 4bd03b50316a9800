package io.torus.examples.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.torus.LocalCluster;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.TorusException;
import io.torus.TorusResources;
import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A cluster of peers in this process, as {@code torus demo} runs it: shared local
 * coordination in {@code DATA/meta}, and peer {@code N} in {@code DATA/peer-N} (its node id,
 * file store and fencing state), each serving the peer protocol on a loopback port. The ring
 * places every volume's copies across the peers exactly as on a cluster with etcd.
 */
final class InProcessCluster implements AutoCloseable {
  private final LocalCluster coordination;
  private final TorusResources resources;
  private final List<Torus> peers = new ArrayList<>();

  private InProcessCluster(LocalCluster coordination, TorusResources resources) {
    this.coordination = coordination;
    this.resources = resources;
  }

  /** Whether {@code data} holds a cluster of this layout. */
  static boolean isLayout(Path data) {
    return Files.isDirectory(data.resolve("meta")) && Files.isDirectory(data.resolve("peer-0"));
  }

  /** How many peers the cluster in {@code data} has (its {@code peer-N} directories). */
  static int peerCount(Path data) {
    try (Stream<Path> s = Files.list(data)) {
      return (int) s.filter(p -> p.getFileName().toString().matches("peer-\\d+")
          && Files.isDirectory(p)).count();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot list " + data + ": " + e.getMessage());
    }
  }

  /**
   * Starts {@code count} peers in {@code data} (creating what is missing).
   *
   * @param storeType the store provider of new peers' stores ("file" or "memory")
   * @param capacity each peer's store capacity
   * @param registry where metrics go, or null
   * @param gcInterval background collection interval (zero: none)
   * @param keys key-encryption keys for encrypted volumes
   */
  static InProcessCluster start(Path data, int count, String storeType, long capacity,
      MeterRegistry registry, Duration gcInterval) {
    return start(data, count, storeType, capacity, registry, gcInterval, List.of());
  }

  /** {@link #start(Path, int, String, long, MeterRegistry, Duration)} with {@code keys}. */
  static InProcessCluster start(Path data, int count, String storeType, long capacity,
      MeterRegistry registry, Duration gcInterval, List<io.torus.spi.KeyProvider> keys) {
    InProcessCluster c = new InProcessCluster(LocalCluster.open(data.resolve("meta")),
        TorusResources.create());
    try {
      for (int i = 0; i < count; i++) {
        TorusBuilder b = Torus.builder().localCluster(c.coordination).resources(c.resources)
            .dataDirectory(data.resolve("peer-" + i)).nodeId("peer-" + i)
            .storeType(storeType).storeCapacity(capacity).gcInterval(gcInterval)
            .listen("127.0.0.1", 0);
        if (registry != null) {
          b.meterRegistry(registry);
        }
        keys.forEach(b::keyProvider);
        c.peers.add(b.build());
      }
      c.awaitRing(Duration.ofSeconds(30));
      return c;
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /**
   * A client of the cluster in {@code data} that runs no peer: it sees the peers (down while
   * none runs), the ring and the volumes, but reads and writes no blocks.
   */
  static Torus viewer(Path data) {
    LocalCluster coordination = LocalCluster.open(data.resolve("meta"));
    try {
      Torus t = Torus.builder().localCluster(coordination).peer(false)
          .gcInterval(Duration.ZERO).build();
      return closingAlso(t, List.of(t), coordination, null);
    } catch (RuntimeException e) {
      coordination.close();
      throw e;
    }
  }

  /** Peer {@code i}. */
  Torus peer(int i) {
    return peers.get(i);
  }

  /** Each peer's id and peer protocol address, for a user to read. */
  String describe() {
    StringBuilder b = new StringBuilder();
    for (io.torus.ClusterAdmin.PeerInfo p : peers.get(0).cluster().peers()) {
      if (p.up()) {
        b.append(b.length() == 0 ? "" : ", ").append(p.nodeId()).append(" at ")
            .append(p.address());
      }
    }
    return b.toString();
  }

  /** How many peers run. */
  int size() {
    return peers.size();
  }

  /** Peer 0 as a {@link Torus} whose close stops the whole cluster. */
  Torus asTorus() {
    InProcessCluster self = this;
    return closingAlso(peers.get(0), List.of(), null, self);
  }

  private void awaitRing(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (peers.get(0).cluster().ring().map(r -> r.members().size()).orElse(0)
        < peers.size()) {
      if (System.nanoTime() > deadline) {
        throw new TorusException(io.torus.ErrorCode.EIO, "the ring did not take in all "
            + peers.size() + " peers within " + limit.toSeconds() + " s");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TorusException(io.torus.ErrorCode.EIO, "interrupted waiting for the ring");
      }
    }
  }

  /** Stops every peer (the last first), then the shared threads and coordination. */
  @Override
  public void close() {
    RuntimeException first = null;
    for (int i = peers.size() - 1; i >= 0; i--) {
      try {
        peers.get(i).close();
      } catch (RuntimeException e) {
        first = first == null ? e : first;
      }
    }
    resources.close();
    coordination.close();
    if (first != null) {
      throw first;
    }
  }

  /** {@code node}, whose close also closes {@code nodes}, {@code cluster} and {@code all}. */
  private static Torus closingAlso(Torus node, List<Torus> nodes, LocalCluster cluster,
      InProcessCluster all) {
    InvocationHandler h = new InvocationHandler() {
      private boolean closed;

      @Override
      public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
        if (m.getName().equals("close") && m.getParameterCount() == 0) {
          if (!closed) {
            closed = true;
            try {
              if (all != null) {
                all.close();
              } else {
                for (Torus t : nodes) {
                  t.close();
                }
              }
            } finally {
              if (cluster != null) {
                cluster.close();
              }
            }
          }
          return null;
        }
        try {
          return m.invoke(node, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      }
    };
    return (Torus) Proxy.newProxyInstance(Torus.class.getClassLoader(),
        new Class<?>[] {Torus.class}, h);
  }
}
