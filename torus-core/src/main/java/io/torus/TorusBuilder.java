package io.torus;

import io.torus.internal.node.NodeConfig;
import io.torus.internal.node.TorusNode;
import io.torus.internal.rebalance.RebalanceOptions;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * Builds a {@link Torus} node. Not thread-safe; every option has a default (see
 * {@code src-docs/configuration.md}).
 *
 * <p>With nothing set, the node is a single JVM with an in-memory store and in-memory
 * metadata: useful for tests, gone on exit. With a {@link #dataDirectory data directory} it
 * keeps a file store and its metadata there and survives restarts.
 */
public final class TorusBuilder {
  private Path dataDirectory;
  private final List<BlockStore> stores = new ArrayList<>();
  private String storeType;
  private long storeCapacity = 1L << 30;
  private MetadataService metadata;
  private ExecutorService executor;
  private int ioThreads = 16;
  private long cacheBytes = 64L << 20;
  private long dirtyBytes = 32L << 20;
  private Duration ioTimeout = Duration.ofSeconds(30);
  private String nodeId;
  private Duration gcInterval = Duration.ofMinutes(5);
  private Duration qosRefresh = Duration.ofSeconds(10);
  private double overcommitRatio = Double.NaN;
  private double spaceWarningRatio = 0.8;
  private io.micrometer.core.instrument.MeterRegistry meterRegistry;
  private List<String> etcdEndpoints = List.of();
  private String etcdPrefix = "/torus";
  private boolean peer = true;
  private String listenHost = "127.0.0.1";
  private int listenPort;
  private String advertiseHost;
  private int advertisePort;
  private WriteLevel writeLevel = WriteLevel.ALL;
  private ReadLevel readLevel = ReadLevel.FIRST;
  private Duration peerTimeout = Duration.ofSeconds(5);
  private TlsConfig tls;
  private TlsConfig etcdTls;
  private String etcdUser;
  private String etcdPassword;
  private long rebalanceRate = 64L << 20;
  private long scrubRate = 8L << 20;
  private Duration scrubInterval = Duration.ofHours(1);
  private Duration antiEntropyInterval = Duration.ofMinutes(1);
  private Duration lostPeerGrace = Duration.ofMinutes(5);
  private LocalCluster localCluster;
  private TorusResources resources;
  private java.util.function.UnaryOperator<String> peerAddressMapper = a -> a;
  private final List<io.torus.spi.KeyProvider> keyProviders = new ArrayList<>();

  TorusBuilder() {}

  /**
   * Where the node keeps its stores, metadata and node id. Default: none (everything in
   * memory).
   */
  public TorusBuilder dataDirectory(Path dir) {
    this.dataDirectory = Objects.requireNonNull(dir, "dir");
    return this;
  }

  /**
   * Adds a store the node pools with its others (one per disk). Stores given here win over
   * {@link #storeType}. The node closes them when it closes.
   */
  public TorusBuilder addStore(BlockStore store) {
    stores.add(Objects.requireNonNull(store, "store"));
    return this;
  }

  /**
   * The {@link io.torus.spi.BlockStoreProvider} type to open one store with when none was
   * added: default {@code "file"} (under {@code <dataDirectory>/store}) with a data directory,
   * {@code "memory"} without.
   */
  public TorusBuilder storeType(String type) {
    this.storeType = Objects.requireNonNull(type, "type");
    return this;
  }

  /** Capacity in bytes of the store opened by {@link #storeType}. Default 1 GiB. */
  public TorusBuilder storeCapacity(long bytes) {
    if (bytes <= 0) {
      throw TorusException.invalid("storeCapacity <= 0: " + bytes);
    }
    this.storeCapacity = bytes;
    return this;
  }

  /**
   * The metadata service. Default: local metadata in the data directory (in memory without
   * one). The node closes it when it closes.
   */
  public TorusBuilder metadata(MetadataService metadata) {
    this.metadata = Objects.requireNonNull(metadata, "metadata");
    return this;
  }

  /**
   * The executor that runs block I/O and completes user futures. Default: a pool of
   * {@link #ioThreads} daemon threads owned (and shut down) by the node. An executor given
   * here is not shut down by the node.
   */
  public TorusBuilder executor(ExecutorService executor) {
    this.executor = Objects.requireNonNull(executor, "executor");
    return this;
  }

  /** Threads of the default I/O executor. Default 16. */
  public TorusBuilder ioThreads(int threads) {
    if (threads < 1) {
      throw TorusException.invalid("ioThreads < 1: " + threads);
    }
    this.ioThreads = threads;
    return this;
  }

  /** Bytes of the node-wide cache of blocks and map nodes. Default 64 MiB; 0 disables it. */
  public TorusBuilder cacheBytes(long bytes) {
    if (bytes < 0) {
      throw TorusException.invalid("cacheBytes < 0: " + bytes);
    }
    this.cacheBytes = bytes;
    return this;
  }

  /**
   * Bytes of unflushed data each open volume may hold in memory. Past half of it dirty blocks
   * stream out to the stores in the background; a writer waits (writes blocks out itself)
   * only past all of it. Default 32 MiB.
   */
  public TorusBuilder dirtyBytes(long bytes) {
    if (bytes < 0) {
      throw TorusException.invalid("dirtyBytes < 0: " + bytes);
    }
    this.dirtyBytes = bytes;
    return this;
  }

  /** Deadline of one metadata or block operation. Default 30 s. */
  public TorusBuilder ioTimeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw TorusException.invalid("ioTimeout must be > 0: " + timeout);
    }
    this.ioTimeout = timeout;
    return this;
  }

  /**
   * Time to live of this node's etcd lease (clustered nodes only), whole seconds, at least
   * 2 s. Default 10 s. A writer whose node is cut off from etcd for longer loses its locks and
   * is fenced; a shorter TTL lets another writer take a dead writer's volume over sooner, at
   * the price of fencing writers on shorter etcd stalls.
   */
  public TorusBuilder leaseTtl(Duration ttl) {
    if (ttl.toMillis() < 2000 || ttl.toNanos() % 1_000_000_000L != 0) {
      throw TorusException.invalid("leaseTtl must be whole seconds, at least 2 s: " + ttl);
    }
    this.leaseTtl = ttl;
    return this;
  }

  private Duration leaseTtl = Duration.ofSeconds(10);

  /**
   * This node's id. Default: read from {@code <dataDirectory>/node-id}, created there on
   * first start; a random one without a data directory.
   */
  public TorusBuilder nodeId(String id) {
    this.nodeId = Objects.requireNonNull(id, "id");
    return this;
  }

  /**
   * How often the node collects garbage in its stores in the background. Default 5 minutes;
   * {@link Duration#ZERO} turns background collection off ({@link Torus#collectGarbage()}
   * still works).
   */
  public TorusBuilder gcInterval(Duration interval) {
    if (interval.isNegative()) {
      throw TorusException.invalid("gcInterval < 0: " + interval);
    }
    this.gcInterval = interval;
    return this;
  }

  /**
   * How often the node re-reads the I/O limits ({@link VolumeQos}) of the volumes it has open,
   * so that limits set through another node ({@link Torus#setVolumeQos}, {@code torus volume
   * set-qos}) reach its handles: one metadata read per open volume per interval. Limits set
   * through this node apply at once, and every open reads them. Default 10 s;
   * {@link Duration#ZERO} turns the re-reading off.
   */
  public TorusBuilder qosRefresh(Duration interval) {
    this.qosRefresh = notNegative("qosRefresh", interval);
    return this;
  }

  /**
   * The capacity guard's overcommit ratio: the node refuses (ENOSPC) to create, clone or grow
   * a volume when the sizes of all volumes, each times its copies (an erasure-coded one's
   * times (k+m)/k), would pass {@code ratio} times the raw capacity of the peers up (a local
   * node: of its stores). 0 turns the check off. Default: the cluster's ({@code torus init
   * --overcommit}, {@link ClusterAdmin.Defaults#overcommitRatio()}), else 4; a ratio given
   * here wins over the cluster's. See {@link ClusterAdmin#capacity()}.
   *
   * @param ratio 0, or 0.01 to 1000
   */
  public TorusBuilder overcommitRatio(double ratio) {
    this.overcommitRatio = ClusterAdmin.Defaults.checkOvercommit(ratio);
    return this;
  }

  /**
   * The share of the raw capacity in use past which the node warns: a WARN log line at most
   * every 10 minutes, the gauge {@code torus.capacity.warning} at 1, and a line in
   * {@code torus status}. Checked every 30 s from the peers' reports (no metadata read).
   * Default 0.8; 0 turns the warning off.
   *
   * @param ratio 0 to 1
   */
  public TorusBuilder spaceWarningRatio(double ratio) {
    if (!(ratio >= 0 && ratio <= 1)) {
      throw TorusException.invalid("spaceWarningRatio must be 0 to 1: " + ratio);
    }
    this.spaceWarningRatio = ratio;
    return this;
  }

  /**
   * Where the node publishes its metrics (Micrometer): I/O operations, bytes and latency per
   * volume, flushes, cache hit ratio, store capacity and use, garbage collection. Default:
   * none (metrics are not recorded anywhere). The node removes its meters when it closes.
   */
  public TorusBuilder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
    return this;
  }

  /**
   * Makes the node a member of the cluster whose metadata lives in etcd at these client URLs
   * (e.g. {@code http://127.0.0.1:2379}). Volumes are then replicated across the cluster's
   * peers by the hash ring, and {@link #metadata} is ignored. Default: none (a single JVM).
   */
  public TorusBuilder etcd(List<String> endpoints) {
    if (endpoints.isEmpty()) {
      throw TorusException.invalid("etcd needs at least one endpoint");
    }
    this.etcdEndpoints = List.copyOf(endpoints);
    return this;
  }

  /**
   * Makes the node a peer of a cluster whose metadata and coordination this process shares
   * (see {@link LocalCluster}): volumes are replicated by the ring across the cluster's nodes
   * over the peer protocol, as with {@link #etcd}. Not combined with {@link #etcd} or
   * {@link #metadata}. Default: none.
   */
  public TorusBuilder localCluster(LocalCluster cluster) {
    this.localCluster = Objects.requireNonNull(cluster, "cluster");
    return this;
  }

  /**
   * Threads and clocks shared with other nodes of this process. Default: the node makes its
   * own ({@link #ioThreads} I/O threads) and stops them when it closes; shared ones are not
   * stopped by the node.
   */
  public TorusBuilder resources(TorusResources resources) {
    this.resources = Objects.requireNonNull(resources, "resources");
    return this;
  }

  /** The etcd key prefix of the cluster. Default {@code /torus}. */
  public TorusBuilder etcdPrefix(String prefix) {
    this.etcdPrefix = Objects.requireNonNull(prefix, "prefix");
    return this;
  }

  /**
   * Whether a clustered node holds blocks for the cluster (a <em>peer</em>: it serves the
   * peer protocol, registers itself and joins the ring) or is client-only (no stores).
   * Default true.
   */
  public TorusBuilder peer(boolean peer) {
    this.peer = peer;
    return this;
  }

  /**
   * Where a peer serves the peer protocol. Default {@code 127.0.0.1}, port 0 (any free port).
   */
  public TorusBuilder listen(String host, int port) {
    if (port < 0 || port > 65535) {
      throw TorusException.invalid("port must be 0 to 65535: " + port);
    }
    this.listenHost = Objects.requireNonNull(host, "host");
    this.listenPort = port;
    return this;
  }

  /**
   * The address a peer registers for others to connect to, when it differs from the listen
   * address (behind NAT or a proxy). Default: the listen host and the bound port.
   */
  public TorusBuilder advertise(String host, int port) {
    if (port < 1 || port > 65535) {
      throw TorusException.invalid("port must be 1 to 65535: " + port);
    }
    this.advertiseHost = Objects.requireNonNull(host, "host");
    this.advertisePort = port;
    return this;
  }

  /**
   * Maps each peer's registered address ({@code host:port}, IPv6 hosts in brackets) to the
   * address this node connects to, for peers reached through a proxy, tunnel or NAT hairpin
   * that only this node needs. Called whenever the peer list is refreshed; must be fast and
   * return {@code host:port}. Default: the registered address.
   */
  public TorusBuilder peerAddressMapper(java.util.function.UnaryOperator<String> mapper) {
    this.peerAddressMapper = Objects.requireNonNull(mapper, "mapper");
    return this;
  }

  /**
   * A key-encryption key this node may use: to create encrypted volumes
   * ({@link VolumeSpec.Builder#encryption}) and to open those whose keys it wrapped (a node
   * given no provider for a volume's key cannot open it). May be called several times.
   */
  public TorusBuilder keyProvider(io.torus.spi.KeyProvider provider) {
    keyProviders.add(Objects.requireNonNull(provider, "provider"));
    return this;
  }

  /** How many replicas a write and flush need on a clustered node. Default {@code ALL}. */
  public TorusBuilder writeLevel(WriteLevel level) {
    this.writeLevel = Objects.requireNonNull(level, "level");
    return this;
  }

  /** How a clustered node reads replicas. Default {@code FIRST}. */
  public TorusBuilder readLevel(ReadLevel level) {
    this.readLevel = Objects.requireNonNull(level, "level");
    return this;
  }

  /**
   * Deadline of one request to a peer; a peer that misses it is skipped for a while (writes
   * go to the next peer on the ring, reads fail over). Default 5 s.
   */
  public TorusBuilder peerTimeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw TorusException.invalid("peerTimeout must be > 0: " + timeout);
    }
    this.peerTimeout = timeout;
    return this;
  }

  /**
   * Bytes per second a peer may copy to other peers for rebalance, re-replication and
   * anti-entropy (so foreground I/O keeps priority). Default 64 MiB/s.
   */
  public TorusBuilder rebalanceRate(long bytesPerSecond) {
    this.rebalanceRate = positive("rebalanceRate", bytesPerSecond);
    return this;
  }

  /** Bytes per second a peer may re-read for scrubbing. Default 8 MiB/s. */
  public TorusBuilder scrubRate(long bytesPerSecond) {
    this.scrubRate = positive("scrubRate", bytesPerSecond);
    return this;
  }

  /**
   * Pause between two complete scrub rounds of a peer (re-reading and verifying every block
   * it holds, replacing corrupt copies); zero disables scrubbing. Default 1 hour.
   */
  public TorusBuilder scrubInterval(Duration interval) {
    this.scrubInterval = notNegative("scrubInterval", interval);
    return this;
  }

  /**
   * Pause between two anti-entropy passes of a peer while the ring is stable (a pass makes
   * sure every block it holds has its copies on the ring's owners). Default 1 minute.
   */
  public TorusBuilder antiEntropyInterval(Duration interval) {
    this.antiEntropyInterval = notNegative("antiEntropyInterval", interval);
    return this;
  }

  /**
   * How long a ring member may be down before the cluster treats it as lost: it leaves the
   * ring and its blocks are re-replicated from surviving copies. Short restarts below it
   * cause no data movement. Default 5 minutes.
   */
  public TorusBuilder lostPeerGrace(Duration grace) {
    this.lostPeerGrace = notNegative("lostPeerGrace", grace);
    return this;
  }

  private static long positive(String what, long v) {
    if (v <= 0) {
      throw TorusException.invalid(what + " must be > 0: " + v);
    }
    return v;
  }

  private static Duration notNegative(String what, Duration d) {
    if (d == null || d.isNegative()) {
      throw TorusException.invalid(what + " must be >= 0: " + d);
    }
    return d;
  }

  /**
   * Mutual TLS for the peer protocol of a clustered node, on the same port: the node's server
   * then admits only connections presenting a certificate signed by {@code tls}'s CA (others,
   * and plain-TCP clients, are refused and logged), and its client presents its certificate
   * and trusts only servers signed by that CA. Every node of a cluster must use TLS or none
   * does. Default: none (plain TCP). See {@link TlsConfig} for hostname checks.
   *
   * @throws TorusException EINVAL for {@link TlsConfig#trustOnly} settings (no certificate)
   */
  public TorusBuilder tls(TlsConfig tls) {
    Objects.requireNonNull(tls, "tls");
    if (!tls.hasCertificate()) {
      throw TorusException.invalid("peer TLS is mutual: it needs a certificate and key");
    }
    this.tls = tls;
    return this;
  }

  /**
   * Mutual TLS to etcd: trust {@code tls}'s CA for the etcd servers and present its
   * certificate and key (for etcd started with {@code --client-cert-auth}). Use
   * {@code https://} endpoints in {@link #etcd}. May be the same value as {@link #tls} when one
   * CA signs both. The etcd client always checks that the server's certificate names the
   * endpoint host, whatever {@link TlsConfig#verifyHostname()} says. With
   * {@link TlsConfig#trustOnly} settings the client verifies the servers and presents no
   * certificate. Default: none.
   */
  public TorusBuilder etcdTls(TlsConfig tls) {
    this.etcdTls = Objects.requireNonNull(tls, "tls");
    return this;
  }

  /**
   * etcd authentication ({@code etcdctl auth enable}): the node authenticates to etcd as
   * {@code user} with {@code password} and then acts with that user's roles, which must grant
   * read and write on the cluster's {@link #etcdPrefix} (prefix permission). Combine with
   * {@link #etcdTls} so the password does not cross the network in clear. The password is kept
   * in memory for re-authentication and never logged. Default: none (no authentication).
   *
   * @param user the etcd user name, not empty
   * @param password its password, not empty; the array is copied (the caller may clear it)
   * @throws TorusException EINVAL if only one of them is given (the other null or empty)
   */
  public TorusBuilder etcdCredentials(String user, char[] password) {
    boolean hasUser = user != null && !user.isEmpty();
    boolean hasPassword = password != null && password.length > 0;
    if (hasUser != hasPassword) {
      throw TorusException.invalid("etcd user and password go together: "
          + (hasUser ? "no password for user " + user : "a password without a user"));
    }
    if (!hasUser) {
      throw TorusException.invalid("etcd credentials need a user and a password");
    }
    this.etcdUser = user;
    this.etcdPassword = new String(password);
    return this;
  }

  /**
   * Starts the node. Throws {@link TorusException} if a store or the metadata won't open, or
   * EINVAL if {@link #tls}, {@link #etcdTls} or {@link #etcdCredentials} is set on a node
   * that does not use etcd.
   */
  public Torus build() {
    if (localCluster != null && (!etcdEndpoints.isEmpty() || metadata != null)) {
      throw TorusException.invalid("localCluster cannot be combined with etcd or metadata");
    }
    if ((tls != null || etcdTls != null) && etcdEndpoints.isEmpty()) {
      throw TorusException.invalid("tls and etcdTls apply to a clustered node: set etcd(...)");
    }
    if (etcdUser != null && etcdEndpoints.isEmpty()) {
      throw TorusException.invalid("etcdCredentials apply to a node using etcd: set etcd(...)");
    }
    NodeConfig.Storage storage = new NodeConfig.Storage(dataDirectory, List.copyOf(stores),
        storeType, storeCapacity);
    NodeConfig.Volumes volumes = new NodeConfig.Volumes(cacheBytes, dirtyBytes, ioTimeout,
        gcInterval, List.copyOf(keyProviders), qosRefresh);
    NodeConfig.Metadata meta = new NodeConfig.Metadata(metadata,
        localCluster == null ? null : localCluster.service(), etcdEndpoints, etcdPrefix,
        etcdTls, leaseTtl, etcdUser, etcdPassword);
    NodeConfig.Peer peerOptions = new NodeConfig.Peer(peer, listenHost, listenPort,
        advertiseHost, advertisePort, writeLevel, readLevel, peerTimeout,
        new RebalanceOptions(rebalanceRate, scrubRate, scrubInterval, antiEntropyInterval,
            lostPeerGrace, Duration.ofMillis(500)), tls, peerAddressMapper);
    NodeConfig.Runtime runtime = new NodeConfig.Runtime(
        resources == null ? null : resources.resources(), executor, ioThreads, meterRegistry);
    return TorusNode.start(new NodeConfig(nodeId, storage, volumes, meta, peerOptions,
        runtime, new NodeConfig.Space(overcommitRatio, spaceWarningRatio)));
  }
}
