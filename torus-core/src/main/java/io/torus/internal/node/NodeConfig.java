package io.torus.internal.node;

import io.torus.ReadLevel;
import io.torus.TlsConfig;
import io.torus.WriteLevel;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * The options of {@link io.torus.TorusBuilder}, as one value. Nullable fields default.
 * A non-empty {@code etcdEndpoints} makes the node a cluster member (see
 * {@link io.torus.TorusBuilder#etcd}); the fields after it apply only then. {@code tls}
 * (peer protocol) and {@code etcdTls} are null for plain TCP.
 */
public record NodeConfig(
    Path dataDirectory,
    List<BlockStore> stores,
    String storeType,
    long storeCapacity,
    MetadataService metadata,
    ExecutorService executor,
    int ioThreads,
    long cacheBytes,
    long dirtyBytes,
    Duration ioTimeout,
    String nodeId,
    Duration gcInterval,
    io.micrometer.core.instrument.MeterRegistry meterRegistry,
    List<String> etcdEndpoints,
    String etcdPrefix,
    boolean peer,
    String listenHost,
    int listenPort,
    String advertiseHost,
    int advertisePort,
    WriteLevel writeLevel,
    ReadLevel readLevel,
    Duration peerTimeout,
    io.torus.internal.rebalance.RebalanceOptions rebalance,
    TlsConfig tls,
    TlsConfig etcdTls,
    Duration leaseTtl) {

  /** Whether the node joins a cluster through etcd. */
  public boolean clustered() {
    return etcdEndpoints != null && !etcdEndpoints.isEmpty();
  }
}
