package io.torus.testing.cluster;

import io.torus.LocalCluster;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.TorusResources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * N Torus nodes in one JVM that form a real cluster: each has its own file store under the
 * cluster directory and its own peer server on a loopback port, and they talk the real peer
 * protocol, every pair through its own {@link FaultProxy} (node {@code i} reaches node
 * {@code j} only through {@link #proxy(int, int) proxy(i, j)}). Coordination is shared local
 * coordination ({@link LocalCluster}) or, with {@link Builder#etcd}, a real etcd.
 *
 * <p>Nodes share one {@link TorusResources} (thread pools and clocks), as many nodes of one
 * process should. {@link #kill} stops a node abruptly as far as its peers can tell (its
 * connections are cut first, then it is closed), {@link #pause} blackholes it,
 * {@link #restart} brings it back with the same id, data and port.
 *
 * <p>{@link #client} adds a client-only node (no store, not in the ring) on the same
 * coordination; every client reaches node {@code j} through {@link #clientProxy(int)
 * clientProxy(j)}, which {@link #kill}, {@link #pause} and {@link #resume} of {@code j} also
 * set. {@link #port} and {@link #storeDirectory} give a test the node's own peer port (past
 * every proxy) and its file store's directory, for checking and damaging what it stores.
 *
 * <p>Not thread-safe: drive it from the test thread. Close it to stop every node, proxy and
 * the shared state; the caller owns the directory.
 */
public final class MiniCluster implements AutoCloseable {
  private final Builder config;
  private final LocalCluster local;
  private final TorusResources resources;
  private final Torus[] nodes;
  private final int[] ports;
  private final FaultProxy[][] proxies;
  /** Proxy j carries every client's connections to node j. */
  private final FaultProxy[] clientProxies;
  private final List<Torus> clients = new ArrayList<>();
  /** Registered address of node j to j, for each node's address mapper. */
  private final Map<String, Integer> byAddress = new HashMap<>();

  private MiniCluster(Builder b) throws IOException {
    this.config = b;
    this.local = b.etcd == null ? LocalCluster.open(b.dir.resolve("meta")) : null;
    this.resources = TorusResources.create(4, 4, System::nanoTime, java.time.Clock.systemUTC());
    this.nodes = new Torus[b.nodes];
    this.ports = new int[b.nodes];
    this.proxies = new FaultProxy[b.nodes][b.nodes];
    this.clientProxies = new FaultProxy[b.nodes];
    try {
      for (int i = 0; i < b.nodes; i++) {
        clientProxies[i] = new FaultProxy();
        for (int j = 0; j < b.nodes; j++) {
          if (i != j) {
            proxies[i][j] = new FaultProxy();
          }
        }
      }
      for (int i = 0; i < b.nodes; i++) {
        start(i);
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** A builder: 3 nodes, no etcd. */
  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /** The options of a cluster. */
  public static final class Builder {
    private final Path dir;
    private int nodes = 3;
    private List<String> etcd;
    private String etcdPrefix = "/mini";
    private long storeCapacity = 256L << 20;
    private Consumer<TorusBuilder> each = b -> { };

    private Builder(Path dir) {
      this.dir = Objects.requireNonNull(dir, "dir");
    }

    /** How many nodes (1 to 16). Default 3. */
    public Builder nodes(int n) {
      if (n < 1 || n > 16) {
        throw new IllegalArgumentException("nodes must be 1 to 16: " + n);
      }
      this.nodes = n;
      return this;
    }

    /** Coordinate through etcd at these endpoints under {@code prefix} instead. */
    public Builder etcd(List<String> endpoints, String prefix) {
      this.etcd = List.copyOf(endpoints);
      this.etcdPrefix = prefix;
      return this;
    }

    /** Capacity of each node's store. Default 256 MiB. */
    public Builder storeCapacity(long bytes) {
      this.storeCapacity = bytes;
      return this;
    }

    /** More options for every node's builder (applied last). */
    public Builder configure(Consumer<TorusBuilder> options) {
      this.each = Objects.requireNonNull(options, "options");
      return this;
    }

    public MiniCluster start() {
      try {
        return new MiniCluster(this);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private void start(int i) {
    int self = i;
    if (ports[i] == 0) { // fixed before start: peers route through proxies from the start
      ports[i] = freePort();
      byAddress.put("127.0.0.1:" + ports[i], i);
      for (int from = 0; from < nodes.length; from++) {
        if (from != i) {
          proxies[from][i].target(ports[i]);
        }
      }
      clientProxies[i].target(ports[i]);
    }
    TorusBuilder b = Torus.builder().dataDirectory(config.dir.resolve("node-" + i))
        .nodeId("node-" + i).storeCapacity(config.storeCapacity).resources(resources)
        .listen("127.0.0.1", ports[i]).gcInterval(Duration.ZERO)
        .peerTimeout(Duration.ofSeconds(2)).lostPeerGrace(Duration.ofMinutes(10))
        .peerAddressMapper(address -> via(self, address));
    coordination(b);
    config.each.accept(b);
    nodes[i] = b.build();
  }

  private void coordination(TorusBuilder b) {
    if (local != null) {
      b.localCluster(local);
    } else {
      b.etcd(config.etcd).etcdPrefix(config.etcdPrefix).leaseTtl(Duration.ofSeconds(3));
    }
  }

  /**
   * Starts a client-only node on the cluster's coordination: no store, not in the ring, every
   * node reached through its {@link #clientProxy}. The cluster's {@link Builder#configure}
   * options are not applied; {@code options} are (last). The caller may close it; the cluster
   * closes it otherwise.
   */
  public Torus client(Consumer<TorusBuilder> options) {
    TorusBuilder b = Torus.builder().nodeId("client-" + clients.size()).peer(false)
        .resources(resources).gcInterval(Duration.ZERO).peerTimeout(Duration.ofSeconds(2))
        .peerAddressMapper(this::viaClientProxy);
    coordination(b);
    options.accept(b);
    Torus t = b.build();
    clients.add(t);
    return t;
  }

  private String viaClientProxy(String address) {
    Integer to = byAddress.get(address);
    return to == null ? address : "127.0.0.1:" + clientProxies[to].port();
  }

  /** The proxy that carries every client's connections to node {@code to}. */
  public FaultProxy clientProxy(int to) {
    return clientProxies[to];
  }

  /** Node {@code i}'s own peer port (past every proxy), fixed for the cluster's life. */
  public int port(int i) {
    return ports[i];
  }

  /** The directory of node {@code i}'s file store. */
  public Path storeDirectory(int i) {
    return config.dir.resolve("node-" + i).resolve("store");
  }

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Node {@code from} reaches a peer's registered address through their proxy. */
  private String via(int from, String address) {
    Integer to = byAddress.get(address);
    if (to == null || to == from) {
      return address;
    }
    return "127.0.0.1:" + proxies[from][to].port();
  }

  /** Node {@code i} (null while killed). */
  public Torus node(int i) {
    return nodes[i];
  }

  /** How many nodes. */
  public int size() {
    return nodes.length;
  }

  /** The node id of node {@code i}. */
  public String nodeId(int i) {
    return "node-" + i;
  }

  /** The proxy that carries node {@code from}'s connections to node {@code to}. */
  public FaultProxy proxy(int from, int to) {
    if (from == to) {
      throw new IllegalArgumentException("a node reaches itself without a proxy");
    }
    return proxies[from][to];
  }

  /** Cuts every connection to and from node {@code i}, then closes it (errors ignored). */
  public void kill(int i) {
    setAll(i, FaultProxy.Mode.CUT);
    Torus t = nodes[i];
    nodes[i] = null;
    if (t != null) {
      try {
        t.close();
      } catch (RuntimeException e) {
        // a killed node may fail to flush or leave cleanly: that is the point
      }
    }
  }

  /** Silently drops all traffic to and from node {@code i}, connections staying open. */
  public void pause(int i) {
    setAll(i, FaultProxy.Mode.BLACKHOLE);
  }

  /** Lets traffic to and from node {@code i} pass again. */
  public void resume(int i) {
    setAll(i, FaultProxy.Mode.PASS);
  }

  /** Starts a killed node again with its id, data and port; its traffic passes. */
  public Torus restart(int i) {
    if (nodes[i] != null) {
      throw new IllegalStateException("node " + i + " is running");
    }
    setAll(i, FaultProxy.Mode.PASS);
    start(i);
    return nodes[i];
  }

  private void setAll(int i, FaultProxy.Mode mode) {
    for (int j = 0; j < nodes.length; j++) {
      if (j != i) {
        proxies[i][j].mode(mode);
        proxies[j][i].mode(mode);
      }
    }
    clientProxies[i].mode(mode);
  }

  /** Waits until every running node and open client sees a ring of all running nodes. */
  public void awaitRing(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    int running = 0;
    for (Torus t : nodes) {
      running += t == null ? 0 : 1;
    }
    while (true) {
      boolean ok = true;
      for (Torus t : nodes) {
        ok &= t == null || ringSize(t) >= running;
      }
      for (Torus t : clients) {
        ok &= isClosed(t) || ringSize(t) >= running;
      }
      if (ok) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("ring did not reach " + running + " members in " + limit);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  private static int ringSize(Torus t) {
    return t.cluster().ring().map(r -> r.members().size()).orElse(0);
  }

  private static boolean isClosed(Torus t) {
    try {
      t.cluster().ring();
      return false;
    } catch (io.torus.TorusClosedException e) {
      return true;
    }
  }

  @Override
  public void close() {
    List<RuntimeException> errors = new ArrayList<>();
    for (Torus t : clients) {
      try {
        t.close(); // idempotent: a client the test closed is skipped
      } catch (RuntimeException e) {
        errors.add(e);
      }
    }
    for (int i = nodes.length - 1; i >= 0; i--) {
      if (nodes[i] != null) {
        try {
          nodes[i].close();
        } catch (RuntimeException e) {
          errors.add(e);
        }
        nodes[i] = null;
      }
    }
    for (FaultProxy p : clientProxies) {
      if (p != null) {
        p.close();
      }
    }
    for (FaultProxy[] row : proxies) {
      for (FaultProxy p : row) {
        if (p != null) {
          p.close();
        }
      }
    }
    resources.close();
    if (local != null) {
      local.close();
    }
    if (!errors.isEmpty()) {
      AssertionError e = new AssertionError("closing the cluster failed: " + errors.get(0),
          errors.get(0));
      errors.stream().skip(1).forEach(e::addSuppressed);
      throw e;
    }
  }
}
