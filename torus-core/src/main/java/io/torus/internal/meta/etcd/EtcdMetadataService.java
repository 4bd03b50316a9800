package io.torus.internal.meta.etcd;

import io.torus.ErrorCode;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.meta.ClusterDefaultsStore;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerAuthority;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.RingStore;
import io.torus.spi.BlockRef;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import io.torus.spi.VolumeLock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The metadata of a cluster, in etcd (through jetcd). The key layout is owned by
 * {@link EtcdLayout}; build one with {@link #builder()}. This class is the facade: volumes,
 * heads and locks are {@link EtcdVolumes}, snapshots and clones {@link EtcdSnapshots}, the
 * coordination stores their own classes, all over one {@link EtcdKv} and one
 * {@link EtcdSession}.
 *
 * <p>Invariants: volume creation, id allocation, head commits and locks are single etcd
 * transactions with compare-and-swap guards. A lock's epoch is the lock key's create
 * revision; a commit compares it and the head key's mod revision in one transaction, so a
 * writer whose lease expired, or whose lock was replaced, can never move the head.
 *
 * <p>Concurrency: thread-safe; calls block the caller for at most the request timeout per
 * etcd round trip (a compare-and-swap that loses a race retries a bounded number of times).
 *
 * <p>Failure: an unreachable etcd gives {@link ErrorCode#EIO} (retryable) within the request
 * timeout, never a hang. When the node's lease is lost, listeners are told at once and every
 * lock taken under that lease is void for commits; a new lease is granted when etcd answers
 * again, and no lock is re-acquired silently. A value that does not parse is an
 * {@link ErrorCode#EIO} error naming its key; nothing is ever deleted because it is damaged.
 * A commit that timed out may have been applied: repeating it with the same arguments is
 * safe (it is recognised as already applied).
 *
 * <p>Public because the node opens it (and tools and tests outside this package run against
 * it); only {@link #builder()}, {@link #shutdownWithin} and the two interfaces are public.
 */
public final class EtcdMetadataService implements MetadataService, Coordination {
  private final EtcdKv kv;
  private final EtcdSession session;
  private final EtcdVolumes volumes;
  private final EtcdSnapshots snapshots;
  private final List<EtcdLeaderElection> elections = new CopyOnWriteArrayList<>();
  private final EtcdRingStore ring;
  private final EtcdRebalanceStore rebalance;
  private EtcdPeerRegistry peers;
  private volatile EtcdPeerAuthority authority;

  private EtcdMetadataService(EtcdOptions options) {
    this.kv = new EtcdKv(options);
    try {
      this.session = new EtcdSession(kv, options.leaseTtl());
    } catch (RuntimeException e) {
      kv.close();
      throw e;
    }
    this.volumes = new EtcdVolumes(kv, session, options.clock());
    this.snapshots = new EtcdSnapshots(kv, volumes, options.clock());
    this.ring = new EtcdRingStore(kv);
    this.rebalance = new EtcdRebalanceStore(kv);
  }

  /** A builder of an etcd metadata service. */
  public static EtcdOptions.Builder builder() {
    return new EtcdOptions.Builder(EtcdMetadataService::new);
  }

  // ---- volumes, heads and locks: EtcdVolumes ----

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    return volumes.createVolume(spec);
  }

  @Override
  public Optional<VolumeInfo> volume(String name) {
    return volumes.volume(name);
  }

  @Override
  public List<VolumeInfo> volumes() {
    return volumes.volumes();
  }

  /** Reads only the page's keys, at one revision (see {@link NamePager}). */
  @Override
  public io.torus.Page<VolumeInfo> volumes(String after, int limit) {
    return volumes.volumes(after, limit);
  }

  @Override
  public VolumeInfo setVolumeReplication(String name, int replication) {
    return volumes.setVolumeReplication(name, replication);
  }

  @Override
  public VolumeInfo resizeVolume(String name, long newSize) {
    return volumes.resizeVolume(name, newSize);
  }

  @Override
  public VolumeInfo setVolumeQos(String name, io.torus.VolumeQos qos) {
    return volumes.setVolumeQos(name, qos);
  }

  @Override
  public void deleteVolume(String name) {
    volumes.deleteVolume(name);
  }

  @Override
  public Head head(long volumeId) {
    return volumes.head(volumeId);
  }

  @Override
  public VolumeLock lockVolume(long volumeId, String holder) {
    return volumes.lockVolume(volumeId, holder);
  }

  @Override
  public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    return volumes.commitHead(lock, expected, root, generation);
  }

  @Override
  public boolean supportsJournal() {
    return true;
  }

  @Override
  public List<String> journal(long volumeId) {
    return volumes.journal(volumeId);
  }

  @Override
  public void setJournal(VolumeLock lock, List<String> peers) {
    volumes.setJournal(lock, peers);
  }

  @Override
  public void checkLock(VolumeLock lock) {
    volumes.checkLock(lock);
  }

  @Override
  public void unlock(VolumeLock lock) {
    volumes.unlock(lock);
  }

  // ---- snapshots and clones: EtcdSnapshots ----

  @Override
  public Snapshot createSnapshot(String volume, String snapshot) {
    return snapshots.createSnapshot(volume, snapshot);
  }

  @Override
  public List<Snapshot> snapshots(String volume) {
    return snapshots.snapshots(volume);
  }

  /** Reads only the page's keys, at one revision (see {@link NamePager}). */
  @Override
  public io.torus.Page<Snapshot> snapshots(String volume, String after, int limit) {
    return snapshots.snapshots(volume, after, limit);
  }

  @Override
  public Optional<Snapshot> snapshot(String volume, String snapshot) {
    return snapshots.snapshot(volume, snapshot);
  }

  @Override
  public void deleteSnapshot(String volume, String snapshot) {
    snapshots.deleteSnapshot(volume, snapshot);
  }

  @Override
  public Head restoreSnapshot(String volume, String snapshot) {
    return snapshots.restoreSnapshot(volume, snapshot);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot) {
    return snapshots.createClone(name, sourceVolume, snapshot, null);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot,
      io.torus.VolumeKeys keys) {
    return snapshots.createClone(name, sourceVolume, snapshot, keys);
  }

  @Override
  public boolean supportsEncryption() {
    return true;
  }

  @Override
  public VolumeInfo setVolumeKeys(String volume, io.torus.VolumeKeys expected,
      io.torus.VolumeKeys replacement) {
    return volumes.setVolumeKeys(volume, expected, replacement);
  }

  @Override
  public Optional<CloneOrigin> cloneOrigin(String volume) {
    return snapshots.cloneOrigin(volume);
  }

  @Override
  public LiveRoots liveRoots() {
    return snapshots.liveRoots();
  }

  // ---- session and coordination ----

  @Override
  public void addSessionListener(SessionListener listener) {
    session.addListener(Objects.requireNonNull(listener, "listener"));
  }

  @Override
  public synchronized PeerRegistry peers() {
    kv.checkOpen();
    if (peers == null) {
      peers = new EtcdPeerRegistry(kv, session);
    }
    return peers;
  }

  @Override
  public RebalanceStore rebalance() {
    kv.checkOpen();
    return rebalance;
  }

  @Override
  public RingStore ring() {
    kv.checkOpen();
    return ring;
  }

  /** The cluster token (created on first use if the cluster has none) and epoch checks. */
  @Override
  public PeerAuthority authority() {
    EtcdPeerAuthority a = authority;
    if (a == null) {
      synchronized (this) {
        a = authority;
        if (a == null) {
          a = EtcdPeerAuthority.open(kv);
          authority = a;
        }
      }
    }
    return a;
  }

  @Override
  public ClusterDefaultsStore defaults() {
    kv.checkOpen();
    return new EtcdClusterDefaults(kv);
  }

  @Override
  public LeaderElection election(String name, String candidate) {
    kv.checkOpen();
    EtcdLeaderElection e = new EtcdLeaderElection(kv, session, name, candidate);
    elections.add(e);
    return e;
  }

  /** The client and layout this service works through. */
  EtcdKv kv() {
    return kv;
  }

  /** The layout's base key ({@code <root>/v1/}); everything this service stores is under it. */
  String keyPrefix() {
    return kv.layout().base();
  }

  /** The current lease id, for diagnostics; throws EIO while the session is lost. */
  long leaseId() {
    return session.leaseId();
  }

  /**
   * Bounds every etcd call from now on, those already waiting included, by {@code budget}
   * from now: a node that shuts down while etcd is unreachable stops within it instead of
   * waiting a request timeout per clean-up step. Calls past it fail as unreachable (what they
   * would have cleaned up expires with the node's lease). Public for the node's shutdown.
   */
  public void shutdownWithin(Duration budget) {
    kv.shutdownWithin(budget);
  }

  /**
   * Closes the elections, watches and peer registration, revokes the lease (bounded by the
   * request timeout or the shutdown budget) and closes the client. Idempotent.
   */
  @Override
  public void close() {
    if (kv.isClosed()) {
      return;
    }
    for (EtcdLeaderElection e : elections) {
      e.close();
    }
    ring.close();
    PeerRegistry p;
    synchronized (this) {
      p = peers;
    }
    if (p != null) {
      p.close();
    }
    kv.markClosed();
    volumes.forgetLocks();
    try {
      session.close(kv.remainingBudget());
    } finally {
      kv.close();
    }
  }

  @Override
  public String toString() {
    return kv.toString();
  }
}
