package io.torus.internal.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.BlockVolume;
import io.torus.ErrorCode;
import io.torus.GcResult;
import io.torus.LeaseLostException;
import io.torus.SnapshotInfo;
import io.torus.Torus;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.volume.JournalWriter;
import io.torus.internal.volume.VolumeEngine;
import io.torus.internal.volume.VolumeMetrics;
import io.torus.spi.BlockStore;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import io.torus.spi.VolumeLock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node behind {@link Torus}: its stores, metadata, {@link Placement} (local or cluster),
 * cache, open volumes and garbage collection schedule. Started by {@link NodeStart}.
 *
 * <p>Concurrency: thread-safe; open handles are tracked in a concurrent set. Failure: when the
 * metadata session is lost, every volume open for writing is fenced at once.
 */
public final class TorusNode implements Torus {
  private static final Logger log = LoggerFactory.getLogger(TorusNode.class);

  /**
   * How long a close waits for the metadata service in all (clean-up steps: last flushes'
   * commits, unlocks, resigning, deregistering, revoking the lease). Past it, what is left
   * undone expires with the node's lease; the close says what that was.
   */
  static final Duration SHUTDOWN_BUDGET = Duration.ofSeconds(5);

  private final String nodeId;
  private final NodeStart.Metadata metadata;
  private final MetadataService meta;
  private final List<BlockStore> stores;
  private final NodeResources resources;
  private final boolean ownsResources;
  private final ExecutorService executor;
  private final BlockCache cache;
  private final long dirtyBytes;
  private final OpenVolumes open = new OpenVolumes();
  private final VolumeCrypto crypto;
  private final DirectoryLock dirLock;
  private final Placement placement;
  private final CapacityGuard guard;
  private final java.util.concurrent.ScheduledFuture<?> usageCheck;
  private final GcScheduler gc;
  private final java.util.concurrent.ScheduledFuture<?> idleHeads;
  private final java.util.concurrent.ScheduledFuture<?> qosRefresh;
  private final MeterRegistry registry;
  private final List<Meter> nodeMeters = new ArrayList<>();
  private volatile boolean closed;

  private TorusNode(NodeConfig c, NodeStart.Parts p) {
    this.dirLock = p.dirLock();
    this.nodeId = p.nodeId();
    this.metadata = p.metadata();
    this.meta = metadata.service();
    this.stores = p.stores();
    this.resources = p.resources();
    this.ownsResources = p.ownsResources();
    this.executor = c.runtime().executor() != null ? c.runtime().executor() : resources.io();
    this.cache = new BlockCache(c.volumes().cacheBytes());
    this.dirtyBytes = c.volumes().dirtyBytes();
    this.crypto = new VolumeCrypto(c.volumes().keyProviders(), meta, resources.cipher());
    this.registry = c.runtime().meterRegistry() != null ? c.runtime().meterRegistry()
        : new io.micrometer.core.instrument.composite.CompositeMeterRegistry();
    meta.addSessionListener(this::sessionLost);
    this.guard = new CapacityGuard(nodeId, c.clustered() ? "the peers up" : "this node's stores",
        meta::volumes, () -> placement().rawCapacity(),
        () -> placement().usedBytes(), () -> placement().admin().defaults(),
        c.space().overcommitRatio(), c.space().warnRatio(), resources.ticker());
    this.placement = metadata.placement().apply(new NodeStart.PlacementParts(c, nodeId, meta,
        stores, cache, resources, open::roots, guard::capacity));
    this.gc = new GcScheduler(placement, c.volumes().gcInterval().toNanos(), resources.ticker(),
        registry, nodeId, resources.scheduler());
    // writers that stopped flushing: their journaled flushes reach the head (blocks on I/O,
    // so on the I/O executor, not the scheduler's threads)
    this.idleHeads = resources.scheduler().scheduleWithFixedDelay(
        () -> executor.execute(open::commitIdleHeads), 1, 1, TimeUnit.SECONDS);
    long qosEvery = c.volumes().qosRefresh().toMillis();
    this.qosRefresh = qosEvery <= 0 ? null : resources.scheduler().scheduleWithFixedDelay(
        () -> executor.execute(this::refreshQos), qosEvery, qosEvery, TimeUnit.MILLISECONDS);
    this.usageCheck = resources.scheduler().scheduleWithFixedDelay(
        () -> executor.execute(this::checkUsage), USAGE_CHECK_SECONDS, USAGE_CHECK_SECONDS,
        TimeUnit.SECONDS);
    registerNodeMeters();
  }

  /** How often the node compares the space in use with its warning ratio. */
  static final long USAGE_CHECK_SECONDS = 30;

  private void checkUsage() {
    if (closed) {
      return;
    }
    try {
      guard.checkUsage();
    } catch (RuntimeException e) {
      log.debug("node {}: checking the space in use failed: {}", nodeId, e.toString());
    }
  }

  /** The node's capacity guard (tests of the node package check its warning). */
  CapacityGuard guard() {
    return guard;
  }

  /** Starts a node with {@code config}. */
  public static Torus start(NodeConfig c) {
    NodeStart.Parts p = NodeStart.open(c);
    try {
      return new TorusNode(c, p);
    } catch (RuntimeException e) {
      p.metadata().close();
      if (c.storage().stores().isEmpty()) {
        p.stores().forEach(BlockStore::close);
      }
      if (p.ownsResources()) {
        p.resources().close();
      }
      if (p.dirLock() != null) {
        p.dirLock().close();
      }
      throw e;
    }
  }

  private void registerNodeMeters() {
    nodeMeters.add(Gauge.builder("torus.cache.hit.ratio", cache, BlockCache::hitRate)
        .description("node block cache hit ratio").tag("node", nodeId).register(registry));
    nodeMeters.add(Gauge.builder("torus.volumes.open", open, OpenVolumes::size)
        .description("volume handles open on this node").tag("node", nodeId)
        .register(registry));
    for (BlockStore s : stores) {
      nodeMeters.add(Gauge.builder("torus.store.capacity", s, BlockStore::capacity)
          .baseUnit("bytes").tag("node", nodeId).tag("store", s.name()).register(registry));
      nodeMeters.add(Gauge.builder("torus.store.used", s, BlockStore::used)
          .baseUnit("bytes").tag("node", nodeId).tag("store", s.name()).register(registry));
    }
    nodeMeters.add(Gauge.builder("torus.capacity.used.ratio", guard, CapacityGuard::usedRatio)
        .description("share of the raw capacity of the peers up (a local node: its stores)"
            + " in use").tag("node", nodeId).register(registry));
    nodeMeters.add(Gauge.builder("torus.capacity.warning", guard, CapacityGuard::warning)
        .description("1 while the share in use is past the node's warning ratio, else 0")
        .tag("node", nodeId).register(registry));
    nodeMeters.addAll(placement.bindMetrics(registry));
    nodeMeters.addAll(gc.meters());
  }

  @Override
  public GcResult collectGarbage() {
    checkOpen();
    return gc.collect();
  }

  /** How this node places blocks (tests of the node package reach layers through it). */
  Placement placement() {
    return placement;
  }

  /** The peer protocol port of a clustered peer node, or -1. */
  public int peerPort() {
    return placement.peerPort();
  }

  private void checkOpen() {
    if (closed) {
      throw new TorusClosedException("node " + nodeId + " is closed");
    }
  }

  @Override
  public io.torus.ClusterAdmin cluster() {
    checkOpen();
    return placement.admin();
  }

  @Override
  public String nodeId() {
    return nodeId;
  }

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    checkOpen();
    placement.checkErasure(spec.erasure());
    placement.checkReplication(spec.replication());
    crypto.checkCreate(spec);
    guard.check("creating volume '" + spec.name() + "' of " + CapacityGuard.bytes(spec.size())
        + " with " + layout(spec.replication(), spec.erasure()), CapacityGuard.footprint(
            spec.replication(), spec.erasure(), spec.size()));
    VolumeInfo info = meta.createVolume(spec);
    if (!java.util.Objects.equals(info.erasure(), spec.erasure())) {
      meta.deleteVolume(info.name()); // a service that dropped the policy: undo, refuse
      throw new TorusException(ErrorCode.ENOTSUP, "the metadata service"
          + " does not store erasure-coding policies; volume '" + spec.name() + "' not created");
    }
    if (!info.qos().equals(spec.qos())) {
      meta.deleteVolume(info.name()); // a service that dropped the limits: undo, refuse
      throw new TorusException(ErrorCode.ENOTSUP, "the metadata service does not store"
          + " volume QoS limits; volume '" + spec.name() + "' not created");
    }
    return info;
  }

  /** How a volume keeps its blocks, for messages: "2 copies" or "erasure 4+2". */
  private static String layout(int replication, io.torus.Erasure erasure) {
    return erasure != null ? "erasure " + erasure : replication + (replication == 1
        ? " copy" : " copies");
  }

  @Override
  public VolumeInfo setVolumeQos(String name, io.torus.VolumeQos qos) {
    checkOpen();
    java.util.Objects.requireNonNull(qos, "qos");
    VolumeInfo info = meta.setVolumeQos(VolumeSpec.checkName(name), qos);
    open.setQos(info.id(), info.qos());
    return info;
  }

  /** Applies the stored I/O limits of every volume open here (see {@code qosRefresh}). */
  private void refreshQos() {
    if (closed) {
      return;
    }
    try {
      open.refreshQos(meta::volume);
    } catch (RuntimeException e) {
      log.debug("node {}: re-reading the I/O limits of open volumes failed: {}", nodeId,
          e.toString());
    }
  }

  @Override
  public List<VolumeInfo> volumes() {
    checkOpen();
    return meta.volumes();
  }

  @Override
  public io.torus.Page<VolumeInfo> volumes(String after, int limit) {
    checkOpen();
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      VolumeSpec.checkName(after);
    }
    return meta.volumes(after, limit);
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
    placement.checkErasure(info.erasure()); // before locking
    placement.checkReplication(info.replication());
    var keys = crypto.keys(info); // before locking: a node without the key changes nothing
    VolumeLock lock = meta.lockVolume(info.id(), nodeId);
    return track(info, crypto.layer(keys, placement.layer(info, lock.epoch())), lock,
        lock.head());
  }

  @Override
  public BlockVolume openVolumeReadOnly(String name) {
    VolumeInfo info = volume(name);
    BlockLayer layer = layer(info, 0);
    open.commitHeads(info.id()); // a writer here: what it flushed is in the head read next
    // a writer elsewhere: what it flushed is in the head or in its journal
    JournalWriter.HeadAndJournal hj = JournalWriter.read(layer.journal().orElse(null), meta,
        info.id(), info.name());
    return track(info, layer, null, hj.head()).withJournaled(hj.changes());
  }

  private BlockLayer layer(VolumeInfo info, long epoch) {
    return crypto.layer(info, placement.layer(info, epoch));
  }

  private VolumeEngine track(VolumeInfo info, BlockLayer layer, VolumeLock lock,
      Head head) {
    VolumeEngine[] self = new VolumeEngine[1];
    VolumeMetrics metrics = new VolumeMetrics(registry, nodeId, info.name(),
        lock == null ? "ro" : "rw");
    io.torus.internal.volume.QosGate qos = new io.torus.internal.volume.QosGate(info.qos(),
        resources.ticker(), resources.scheduler(), metrics);
    VolumeEngine v = new VolumeEngine(info, layer, cache, meta, lock, head, executor,
        resources.blocks(), dirtyBytes, metrics, qos, () -> open.remove(self[0]));
    self[0] = v;
    open.add(v);
    if (closed) { // raced with close()
      v.close();
      checkOpen();
    }
    return v.start();
  }

  @Override
  public SnapshotInfo createSnapshot(String volume, String snapshot) {
    checkOpen();
    // a writer here: the snapshot holds what it flushed (a writer elsewhere: what it committed
    // to the head, at most Committer.CHECKPOINT_NANOS behind its last flush)
    meta.volume(VolumeSpec.checkName(volume)).ifPresent(v -> open.commitHeads(v.id()));
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
  public io.torus.Page<SnapshotInfo> snapshots(String volume, String after, int limit) {
    checkOpen();
    VolumeSpec.checkName(volume);
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      Snapshot.checkName(after);
    }
    return meta.snapshots(volume, after, limit).map(TorusNode::info);
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
        v.replication(), v.created(), v.encryption(), v.erasure(), v.qos());
    Head head = new Head(v.id(), snap.root(), snap.generation(), 0);
    return track(frozen, layer(v, 0), null, head);
  }

  @Override
  public VolumeInfo cloneVolume(String volume, String snapshot, String newVolume) {
    checkOpen();
    Snapshot snap = snapshot(volume, snapshot);
    VolumeInfo src = volume(volume);
    guard.check("cloning " + snap.fullName() + " of " + CapacityGuard.bytes(snap.size())
        + " with " + layout(src.replication(), src.erasure()) + " into volume '" + newVolume
        + "'", CapacityGuard.footprint(src, snap.size()));
    return meta.createClone(VolumeSpec.checkName(newVolume), volume, snapshot,
        crypto.cloneKeys(src));
  }

  @Override
  public VolumeInfo rekeyVolume(String name, io.torus.spi.KeyProvider newKek) {
    checkOpen();
    return crypto.rekey(volume(name), java.util.Objects.requireNonNull(newKek, "newKek"));
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
    VolumeInfo old = volume(name);
    if (newSize > old.size()) {
      guard.check("growing volume '" + name + "' by " + CapacityGuard.bytes(newSize
          - old.size()) + " with " + layout(old.replication(), old.erasure()),
          CapacityGuard.footprint(old, newSize - old.size()));
    }
    VolumeInfo info = meta.resizeVolume(VolumeSpec.checkName(name), newSize);
    open.grow(info.id(), info.size());
    return info;
  }

  @Override
  public void deleteVolume(String name) {
    checkOpen();
    meta.deleteVolume(VolumeSpec.checkName(name));
  }

  private void sessionLost(Throwable cause) {
    log.warn("metadata session of node {} lost; fencing its writable volumes", nodeId, cause);
    open.fenceAll(new LeaseLostException("metadata session lost: " + cause, cause));
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + SHUTDOWN_BUDGET.toNanos();
    metadata.shutdown().accept(SHUTDOWN_BUDGET);
    gc.close();
    idleHeads.cancel(false);
    usageCheck.cancel(false);
    if (qosRefresh != null) {
      qosRefresh.cancel(false);
    }
    List<Throwable> errors = new ArrayList<>();
    open.closeAll(e -> {
      log.warn("node {}: closing a volume failed: {}", nodeId, e.toString());
      errors.add(e);
    });
    run("leaving the cluster", placement::close, errors);
    run("closing the metadata service", metadata::close, errors);
    if (ownsResources) {
      run("stopping the node's threads", () -> {
        if (!resources.shutdown(deadline)) {
          throw new TorusException(ErrorCode.EIO, "threads still busy at shutdown were "
              + "interrupted");
        }
      }, errors);
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

  @Override
  public String toString() {
    return "TorusNode[" + nodeId + "]";
  }
}
