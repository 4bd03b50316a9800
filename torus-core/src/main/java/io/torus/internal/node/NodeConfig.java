package io.torus.internal.node;

import io.micrometer.core.instrument.MeterRegistry;
import io.torus.ReadLevel;
import io.torus.TlsConfig;
import io.torus.WriteLevel;
import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.internal.rebalance.RebalanceOptions;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.UnaryOperator;

/**
 * The options of {@link io.torus.TorusBuilder}, as one value in groups. Nullable fields
 * default (see {@code src-docs/configuration.md}).
 *
 * @param nodeId this node's id, or null to read or create it in the data directory
 * @param storage where blocks are kept
 * @param volumes how open volumes cache, buffer and time out
 * @param metadata where metadata and coordination live, which decides the node's placement:
 *     local (its own stores) or a cluster (etcd, or coordination shared in this process)
 * @param peer how a cluster node serves, replicates and repairs blocks
 * @param runtime the threads, clock and metrics the node uses
 * @param space the node's capacity guard
 */
public record NodeConfig(String nodeId, Storage storage, Volumes volumes, Metadata metadata,
    Peer peer, Runtime runtime, Space space) {

  /**
   * @param overcommitRatio how many times the raw capacity volumes may provision, 0 for no
   *     check, or NaN to take the cluster's (its defaults' ratio, else 4)
   * @param warnRatio the used share of the raw capacity past which the node warns, 0 for
   *     never
   */
  public record Space(double overcommitRatio, double warnRatio) {}

  /**
   * @param dataDirectory where the node keeps its node id, store and (local) metadata, or
   *     null for memory only
   * @param stores stores added by the user (win over {@code storeType})
   * @param storeType the provider type of the one store opened when none was added
   * @param storeCapacity capacity of that store
   */
  public record Storage(Path dataDirectory, List<BlockStore> stores, String storeType,
      long storeCapacity) {}

  /**
   * @param cacheBytes the node-wide block and map-node cache
   * @param dirtyBytes unflushed bytes per open volume before early write-out
   * @param ioTimeout deadline of one metadata or block operation
   * @param gcInterval background collection interval, zero for none
   * @param keyProviders the key-encryption keys for encrypted volumes
   * @param qosRefresh how often the node re-reads the I/O limits of the volumes it has open,
   *     zero for never (limits set through this node apply at once anyway)
   */
  public record Volumes(long cacheBytes, long dirtyBytes, Duration ioTimeout,
      Duration gcInterval, List<io.torus.spi.KeyProvider> keyProviders, Duration qosRefresh) {}

  /**
   * At most one of {@code service}, {@code shared} and {@code etcdEndpoints} is set.
   *
   * @param service a metadata service given by the user (a local node), or null
   * @param shared local coordination shared with other nodes of this process, or null
   * @param etcdEndpoints etcd client URLs, empty for none
   * @param etcdPrefix the cluster's key prefix in etcd
   * @param etcdTls TLS to etcd (trust only, or mutual), or null
   * @param leaseTtl the etcd lease time to live
   * @param etcdUser the etcd user, or null without etcd authentication
   * @param etcdPassword that user's password, or null; never in {@link #toString()}
   */
  public record Metadata(MetadataService service, LocalMetadataService shared,
      List<String> etcdEndpoints, String etcdPrefix, TlsConfig etcdTls, Duration leaseTtl,
      String etcdUser, String etcdPassword) {

    /** Without etcd authentication. */
    public Metadata(MetadataService service, LocalMetadataService shared,
        List<String> etcdEndpoints, String etcdPrefix, TlsConfig etcdTls, Duration leaseTtl) {
      this(service, shared, etcdEndpoints, etcdPrefix, etcdTls, leaseTtl, null, null);
    }

    @Override
    public String toString() {
      return "Metadata[service=" + service + ", shared=" + shared
          + ", etcdEndpoints=" + etcdEndpoints + ", etcdPrefix=" + etcdPrefix
          + ", etcdTls=" + etcdTls + ", leaseTtl=" + leaseTtl + ", etcdUser=" + etcdUser
          + (etcdPassword == null ? "" : ", etcdPassword=(hidden)") + "]";
    }

    /** Whether the node coordinates through etcd. */
    public boolean etcd() {
      return etcdEndpoints != null && !etcdEndpoints.isEmpty();
    }

    /** Whether the node is a member of a cluster (etcd or shared local coordination). */
    public boolean clustered() {
      return etcd() || shared != null;
    }
  }

  /**
   * @param enabled whether a cluster node holds blocks (false: client only)
   * @param listenHost the peer protocol listen host
   * @param listenPort the listen port, 0 for any
   * @param advertiseHost the host other peers connect to, or null for the listen host
   * @param advertisePort the port other peers connect to, or 0 for the bound port
   * @param writeLevel replicas a write and flush need
   * @param readLevel how replicas are read
   * @param timeout deadline of one peer request
   * @param rebalance rebalance, re-replication and scrub options
   * @param tls mutual TLS of the peer protocol, or null
   * @param dial maps a peer's registered {@code host:port} to the one this node connects to
   */
  public record Peer(boolean enabled, String listenHost, int listenPort, String advertiseHost,
      int advertisePort, WriteLevel writeLevel, ReadLevel readLevel, Duration timeout,
      RebalanceOptions rebalance, TlsConfig tls, UnaryOperator<String> dial) {}

  /**
   * @param resources the thread pools and clock, shared with other nodes or owned by this
   *     one
   * @param executor the executor that completes user futures, or null for the resources'
   * @param ioThreads the I/O threads of resources the node makes itself
   * @param meterRegistry where metrics go, or null for nowhere
   */
  public record Runtime(NodeResources resources, ExecutorService executor, int ioThreads,
      MeterRegistry meterRegistry) {}

  /** Whether the node is a member of a cluster. */
  public boolean clustered() {
    return metadata.clustered();
  }
}
