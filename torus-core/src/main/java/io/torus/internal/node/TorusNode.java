package io.torus.internal.node;

import io.torus.spi.BlockRef;
import io.torus.BlockUnavailableException;
import io.torus.BlockVolume;
import io.torus.GcResult;
import io.torus.SnapshotInfo;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.Torus;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.internal.gc.GarbageCollector;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.LocalBlockLayer;
import io.torus.internal.map.MapNode;
import io.torus.internal.meta.etcd.EtcdMetadataService;
import io.torus.internal.meta.etcd.EtcdOptions;
import io.torus.internal.meta.LocalMetadataService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.internal.volume.VolumeEngine;
import io.torus.internal.volume.VolumeMetrics;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.Head;
import io.torus.spi.Snapshot;
import io.torus.spi.MetadataService;
import io.torus.spi.StoreConfig;
import io.torus.spi.VolumeLock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node behind {@link Torus}: its stores, metadata service, executors, cache and the
 * volumes it has open.
 *
 * <p>Concurrency: thread-safe; open handles are tracked in a concurrent set. Failure: when the
 * metadata session is lost, every volume open for writing is fenced at once.
 */
public final class TorusNode implements Torus {
  private static final Logger log = LoggerFactory.getLogger(TorusNode.class);

  private final String nodeId;
  private final MetadataService meta;
  private final boolean ownsMeta;
  private final List<BlockStore> stores;
  private final ExecutorService executor;
  private final boolean ownsExecutor;
  private final ExecutorService ioPool;
  private final BlockCache cache;
  private final long dirtyBytes;
  private final Map<VolumeEngine, Boolean> open = new ConcurrentHashMap<>();
  private final DirectoryLock dirLock;
  private final GarbageCollector gc;
  private final ClusterGc clusterGc;
  private final MeterRegistry registry;
  private final List<Meter> nodeMeters = new ArrayList<>();
  private final ScheduledExecutorService background;
  private final ClusterMember cluster;
  private final ClusterAdminImpl admin;
  private volatile boolean closed;

  private TorusNode(NodeConfig c, DirectoryLock dirLock, String nodeId, MetadataService meta,
      List<BlockStore> stores, ClusterMember cluster) {
    this.dirLock = dirLock;
    this.nodeId = nodeId;
    this.cluster = cluster;
    this.meta = meta;
    this.ownsMeta = c.metadata() == null || c.clustered();
    this.stores = stores;
    this.ownsExecutor = c.executor() == null;
    this.executor = ownsExecutor
        ? Executors.newFixedThreadPool(c.ioThreads(), daemon("torus-io-")) : c.executor();
    this.ioPool = Executors.newFixedThreadPool(8, daemon("torus-block-"));
    this.cache = new BlockCache(c.cacheBytes());
    this.dirtyBytes = c.dirtyBytes();
    meta.addSessionListener(this::sessionLost);
    this.gc = new GarbageCollector(meta, stores, this::readNode, this::openRoots);
    this.clusterGc = cluster == null ? null : new ClusterGc(meta, cluster.view(),
        cluster.coordination().election("gc", nodeId),
        cluster.layer(new VolumeInfo(0, "gc", 1, VolumeSpec.MIN_BLOCK_SIZE, 16,
            java.time.Instant.EPOCH), 0), this::openRoots, c.peerTimeout(), 20_000);
    this.registry = c.meterRegistry() != null ? c.meterRegistry()
        : new io.micrometer.core.instrument.composite.CompositeMeterRegistry();
    registerNodeMeters();
    this.background = Executors.newSingleThreadScheduledExecutor(daemon("torus-gc-"));
    this.gcIntervalNanos = c.gcInterval().toNanos();
    this.admin = ClusterAdminImpl.start(meta, c);
    if (gcIntervalNanos > 0) {
      background.scheduleWithFixedDelay(this::backgroundGc, 1, 1, TimeUnit.SECONDS);
    }
  }

  private void registerNodeMeters() {
    nodeMeters.add(Gauge.builder("torus.cache.hit.ratio", cache, BlockCache::hitRate)
        .description("node block cache hit ratio").register(registry));
    nodeMeters.add(Gauge.builder("torus.volumes.open", open, Map::size)
        .description("volume handles open on this node").register(registry));
    for (BlockStore s : stores) {
      nodeMeters.add(Gauge.builder("torus.store.capacity", s, BlockStore::capacity)
          .baseUnit("bytes").tag("store", s.name()).register(registry));
      nodeMeters.add(Gauge.builder("torus.store.used", s, BlockStore::used)
          .baseUnit("bytes").tag("store", s.name()).register(registry));
    }
    if (cluster != null) {
      nodeMeters.addAll(cluster.bindMetrics(registry));
    }
    gcDeleted = Counter.builder("torus.gc.deleted").description("blocks garbage-collected")
        .register(registry);
    gcFailures = Counter.builder("torus.gc.failures")
        .description("garbage-collection cycles aborted (nothing deleted)").register(registry);
    nodeMeters.add(gcDeleted);
    nodeMeters.add(gcFailures);
  }

  private Counter gcDeleted;
  private Counter gcFailures;

  private GcResult runGc() {
    try {
      GcResult r = clusterGc != null ? clusterGc.collect() : gc.collect();
      gcDeleted.increment(r.deletedBlocks());
      return r;
    } catch (RuntimeException e) {
      gcFailures.increment();
      throw e;
    }
  }

  /** Reads a map node for garbage collection: from the cache, else from any store. */
  private MapNode readNode(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node != null) {
      return node;
    }
    for (BlockStore s : stores) {
      ByteBuffer b = s.get(ref);
      if (b != null) {
        return MapNode.decode(ref, b);
      }
    }
    throw new BlockUnavailableException("map node " + ref + " is in no store of node " + nodeId);
  }

  private List<BlockRef> openRoots() {
    List<BlockRef> roots = new ArrayList<>();
    for (VolumeEngine v : open.keySet()) {
      BlockRef r = v.root();
      if (r != null) {
        roots.add(r);
      }
    }
    return roots;
  }

  private final long gcIntervalNanos;
  private volatile long lastGc = System.nanoTime();

  /**
   * Collects when the interval has passed, or sooner (at most every 5 s) when a store is more
   * than half full: overwrites create garbage as fast as clients write.
   */
  private void backgroundGc() {
    if (clusterGc != null && !clusterGc.isLeader()) {
      return; // one peer collects for the cluster
    }
    long since = System.nanoTime() - lastGc;
    boolean pressure = stores.stream().anyMatch(st -> st.used() * 2 > st.capacity());
    if (since < gcIntervalNanos && !(pressure && since > TimeUnit.SECONDS.toNanos(5))) {
      return;
    }
    lastGc = System.nanoTime();
    try {
      runGc();
    } catch (RuntimeException e) {
      log.warn("garbage collection skipped, nothing deleted: {}", e.toString());
    }
  }

  @Override
  public GcResult collectGarbage() {
    checkOpen();
    return runGc();
  }

  /** Starts a node with {@code config}. */
  public static Torus start(NodeConfig c) {
    Path dir = c.dataDirectory();
    DirectoryLock dirLock = dir == null ? null : DirectoryLock.acquire(dir);
    String nodeId;
    boolean clientOnly = c.clustered() && !c.peer();
    List<BlockStore> stores = List.of();
    MetadataService meta = null;
    ClusterMember cluster = null;
    try {
      nodeId = c.nodeId() != null ? c.nodeId() : nodeId(dir);
      stores = clientOnly ? List.of()
          : c.stores().isEmpty() ? List.of(openStore(c)) : c.stores();
      if (c.clustered()) {
        EtcdOptions.Builder eb = EtcdMetadataService.builder().endpoints(c.etcdEndpoints())
            .rootPrefix(c.etcdPrefix()).requestTimeout(c.ioTimeout()).leaseTtl(c.leaseTtl());
        if (c.etcdTls() != null) {
          eb.trustedCa(c.etcdTls().caCertificate()).clientCertificate(
              c.etcdTls().certificateChain(), c.etcdTls().privateKey());
        }
        EtcdMetadataService etcd = eb.build();
        meta = etcd;
        cluster = new ClusterMember(c, nodeId, etcd, etcd, stores);
      } else {
        meta = c.metadata() != null ? c.metadata()
            : dir == null ? LocalMetadataService.inMemory()
            : LocalMetadataService.open(dir.resolve("meta"));
      }
    } catch (RuntimeException e) {
      if (meta != null && (c.clustered() || c.metadata() == null)) {
        meta.close();
      }
      if (c.stores().isEmpty()) {
        stores.forEach(BlockStore::close);
      }
      if (dirLock != null) {
        dirLock.close();
      }
      throw e;
    }
    return new TorusNode(c, dirLock, nodeId, meta, stores, cluster);
  }

  /** The peer protocol port of a clustered peer node, or -1. */
  public int peerPort() {
    return cluster == null ? -1 : cluster.port();
  }

  private static BlockStore openStore(NodeConfig c) {
    Path dir = c.dataDirectory();
    String type = c.storeType() != null ? c.storeType() : dir == null ? "memory" : "file";
    if ("file".equals(type) && dir == null) {
      throw TorusException.invalid("store type 'file' needs a data directory");
    }
    return BlockStores.open(type, new StoreConfig(dir == null ? null : dir.resolve("store"),
        c.storeCapacity(), Map.of()));
  }

  private static String nodeId(Path dir) {
    if (dir == null) {
      return UUID.randomUUID().toString();
    }
    Path file = dir.resolve("node-id");
    try {
      if (Files.exists(file)) {
        String id = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (id.isEmpty()) {
          throw new TorusException(ErrorCode.EIO, "node id file " + file + " is empty");
        }
        return id;
      }
      String id = UUID.randomUUID().toString();
      Path tmp = dir.resolve("node-id.tmp");
      Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      return id;
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot read or write node id file " + file, e);
    }
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private void checkOpen() {
    if (closed) {
      throw new TorusClosedException("node " + nodeId + " is closed");
    }
  }

  @Override
  public io.torus.ClusterAdmin cluster() {
    checkOpen();
    return admin;
  }

  @Override
  public String nodeId() {
    return nodeId;
  }

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    checkOpen();
    if (cluster == null && spec.replication() > stores.size()) {
      throw TorusException.invalid("replication " + spec.replication() + " needs at least "
          + spec.replication() + " stores; this node has " + stores.size());
    }
    return meta.createVolume(spec);
  }

  @Override
  public List<VolumeInfo> volumes() {
    checkOpen();
    return meta.volumes();
  }

  @Override
  public VolumeInfo volume(String name) {
    checkOpen();
    VolumeSpec.checkName(name);
    return meta.volume(name).orElseThrow(
        () -> new VolumeNotFoundException("no volume named '" + name + "'"));
  }

  @Override
  public BlockVolume openVolume(String name) {
    VolumeInfo info = volume(name);
    if (cluster == null) {
      new LocalBlockLayer(stores, info.replication()); // validates before locking
    }
    VolumeLock lock = meta.lockVolume(info.id(), nodeId);
    return track(info, layer(info, lock.epoch()), lock, lock.head());
  }

  @Override
  public BlockVolume openVolumeReadOnly(String name) {
    VolumeInfo info = volume(name);
    BlockLayer layer = layer(info, 0);
    Head head = meta.head(info.id());
    return track(info, layer, null, head);
  }

  private BlockLayer layer(VolumeInfo info, long epoch) {
    return cluster != null ? cluster.layer(info, epoch)
        : new LocalBlockLayer(stores, info.replication());
  }

  private VolumeEngine track(VolumeInfo info, BlockLayer layer, VolumeLock lock,
      Head head) {
    VolumeEngine[] self = new VolumeEngine[1];
    VolumeMetrics metrics = new VolumeMetrics(registry, info.name(), lock == null ? "ro" : "rw");
    VolumeEngine v = new VolumeEngine(info, layer, cache, meta, lock, head, executor, ioPool,
        dirtyBytes, metrics, () -> open.remove(self[0]));
    self[0] = v;
    open.put(v, Boolean.TRUE);
    if (closed) { // raced with close()
      v.close();
      checkOpen();
    }
    return v;
  }

  @Override
  public SnapshotInfo createSnapshot(String volume, String snapshot) {
    checkOpen();
    return info(meta.createSnapshot(VolumeSpec.checkName(volume), Snapshot.checkName(snapshot)));
  }

  @Override
  public List<SnapshotInfo> snapshots(String volume) {
    checkOpen();
    volume(volume);
    return meta.snapshots(volume).stream().map(TorusNode::info)
        .sorted(java.util.Comparator.comparing(SnapshotInfo::name)).toList();
  }

  @Override
  public void deleteSnapshot(String volume, String snapshot) {
    checkOpen();
    meta.deleteSnapshot(VolumeSpec.checkName(volume), Snapshot.checkName(snapshot));
  }

  @Override
  public void restoreSnapshot(String volume, String snapshot) {
    checkOpen();
    meta.restoreSnapshot(VolumeSpec.checkName(volume), Snapshot.checkName(snapshot));
  }

  @Override
  public BlockVolume openSnapshot(String volume, String snapshot) {
    checkOpen();
    Snapshot snap = snapshot(volume, snapshot);
    VolumeInfo v = volume(volume);
    VolumeInfo frozen = new VolumeInfo(v.id(), snap.fullName(), snap.size(), v.blockSize(),
        v.replication(), v.created());
    Head head = new Head(v.id(), snap.root(), snap.generation(), 0);
    return track(frozen, layer(v, 0), null, head);
  }

  @Override
  public VolumeInfo cloneVolume(String volume, String snapshot, String newVolume) {
    checkOpen();
    snapshot(volume, snapshot);
    return meta.createClone(VolumeSpec.checkName(newVolume), volume, snapshot);
  }

  private Snapshot snapshot(String volume, String snapshot) {
    return meta.snapshot(VolumeSpec.checkName(volume), Snapshot.checkName(snapshot))
        .orElseThrow(() -> new VolumeNotFoundException(
            "no snapshot '" + volume + "@" + snapshot + "'"));
  }

  private static SnapshotInfo info(Snapshot s) {
    return new SnapshotInfo(s.volumeName(), s.name(), s.size(), s.created());
  }

  @Override
  public VolumeInfo resizeVolume(String name, long newSize) {
    checkOpen();
    VolumeInfo info = meta.resizeVolume(VolumeSpec.checkName(name), newSize);
    for (VolumeEngine v : open.keySet()) {
      if (v.id() == info.id()) {
        v.grow(info.size());
      }
    }
    return info;
  }

  @Override
  public void deleteVolume(String name) {
    checkOpen();
    meta.deleteVolume(VolumeSpec.checkName(name));
  }

  private void sessionLost(Throwable cause) {
    log.warn("metadata session of node {} lost; fencing its writable volumes", nodeId, cause);
    LeaseLostException e = new LeaseLostException("metadata session lost: " + cause, cause);
    for (VolumeEngine v : open.keySet()) {
      v.fence(e);
    }
  }

  /**
   * How long a close waits for etcd in all (clean-up steps: last flushes' commits, unlocks,
   * resigning, deregistering, revoking the lease). Past it, what is left undone expires with
   * the node's lease; the close says what that was.
   */
  static final java.time.Duration SHUTDOWN_BUDGET = java.time.Duration.ofSeconds(5);

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + SHUTDOWN_BUDGET.toNanos();
    if (meta instanceof EtcdMetadataService etcd) {
      etcd.shutdownWithin(SHUTDOWN_BUDGET);
    }
    background.shutdownNow();
    List<Throwable> errors = new ArrayList<>();
    for (VolumeEngine v : new ArrayList<>(open.keySet())) {
      run("closing volume '" + v.name() + "'", v::close, errors);
    }
    run("closing the admin view", admin::close, errors);
    if (clusterGc != null) {
      run("stopping garbage collection", clusterGc::close, errors);
    }
    if (cluster != null) {
      run("leaving the cluster", cluster::close, errors);
    }
    if (ownsMeta) {
      run("closing the metadata service", meta::close, errors);
    }
    ioPool.shutdown();
    run("stopping background tasks", () -> awaitTermination(background, deadline), errors);
    if (ownsExecutor) {
      executor.shutdown();
      run("stopping the volume executor", () -> awaitTermination(executor, deadline), errors);
    }
    for (BlockStore s : stores) {
      run("closing store " + s.name(), s::close, errors);
    }
    if (dirLock != null) {
      dirLock.close();
    }
    nodeMeters.forEach(registry::remove);
    if (!errors.isEmpty()) {
      TorusException e = new TorusException(ErrorCode.EIO,
          "node " + nodeId + " closed with errors: " + errors.get(0), errors.get(0));
      errors.stream().skip(1).forEach(e::addSuppressed);
      throw e;
    }
  }

  private interface Step {
    void run() throws Exception;
  }

  private void run(String what, Step step, List<Throwable> errors) {
    try {
      step.run();
    } catch (Exception e) {
      log.warn("node {}: {} failed: {}", nodeId, what, e.toString());
      errors.add(e);
    }
  }

  /** Waits for a pool until the deadline (at least a second); false if it did not stop. */
  private static void awaitTermination(ExecutorService pool, long deadline)
      throws InterruptedException {
    long left = Math.max(TimeUnit.SECONDS.toNanos(1), deadline - System.nanoTime());
    if (!pool.awaitTermination(left, TimeUnit.NANOSECONDS)) {
      pool.shutdownNow();
      throw new TorusException(ErrorCode.EIO, "threads still busy at shutdown were "
          + "interrupted");
    }
  }

  @Override
  public String toString() {
    return "TorusNode[" + nodeId + "]";
  }
}
