package io.torus.internal.meta.local;

import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's session of a {@link LocalMetadataService} shared by several nodes of a process:
 * the node's view of the same volumes, ring and members, with its own peer registration,
 * writer locks, election candidacies and session listeners. It plays the part an etcd lease
 * plays for an etcd node: when the session ends (the node closes it, or {@link #expire}
 * ends it as a lost lease would) its locks are released, it is listed as down and it stops
 * leading; only {@link #expire} tells the session listeners.
 *
 * <p>Thread-safe. Calls after the end throw {@link TorusClosedException}; the service itself
 * stays open for the other sessions.
 */
public final class LocalSession implements MetadataService, Coordination {
  private static final Logger LOG = LoggerFactory.getLogger(LocalSession.class);

  private final LocalMetadataService shared;
  private final PeerRegistry registry;
  private final Map<Long, VolumeLock> held = new ConcurrentHashMap<>();
  private final List<LeaderElection> candidacies = new CopyOnWriteArrayList<>();
  private final List<SessionListener> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean ended;

  LocalSession(LocalMetadataService shared, PeerRegistry registry) {
    this.shared = shared;
    this.registry = registry;
  }

  private void checkLive() {
    if (ended) {
      throw new TorusClosedException("metadata session has ended");
    }
  }

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    checkLive();
    return shared.createVolume(spec);
  }

  @Override
  public Optional<VolumeInfo> volume(String name) {
    checkLive();
    return shared.volume(name);
  }

  @Override
  public List<VolumeInfo> volumes() {
    checkLive();
    return shared.volumes();
  }

  @Override
  public io.torus.Page<VolumeInfo> volumes(String after, int limit) {
    checkLive();
    return shared.volumes(after, limit);
  }

  @Override
  public VolumeInfo resizeVolume(String name, long newSize) {
    checkLive();
    return shared.resizeVolume(name, newSize);
  }

  @Override
  public void deleteVolume(String name) {
    checkLive();
    shared.deleteVolume(name);
  }

  @Override
  public Head head(long volumeId) {
    checkLive();
    return shared.head(volumeId);
  }

  @Override
  public VolumeLock lockVolume(long volumeId, String holder) {
    checkLive();
    VolumeLock lock = shared.lockVolume(volumeId, holder);
    held.put(lock.epoch(), lock);
    if (ended) { // raced with the end of the session
      release(lock);
      checkLive();
    }
    return lock;
  }

  @Override
  public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    if (ended || !held.containsKey(lock.epoch())) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + " ended with its metadata session");
    }
    return shared.commitHead(lock, expected, root, generation);
  }

  @Override
  public void checkLock(VolumeLock lock) {
    if (ended || !held.containsKey(lock.epoch())) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + " ended with its metadata session");
    }
    shared.checkLock(lock);
  }

  @Override
  public void unlock(VolumeLock lock) {
    release(lock);
  }

  private void release(VolumeLock lock) {
    held.remove(lock.epoch());
    shared.unlock(lock);
  }

  @Override
  public VolumeInfo setVolumeReplication(String volume, int replication) {
    checkLive();
    return shared.setVolumeReplication(volume, replication);
  }

  @Override
  public VolumeInfo setVolumeQos(String volume, io.torus.VolumeQos qos) {
    checkLive();
    return shared.setVolumeQos(volume, qos);
  }

  @Override
  public Snapshot createSnapshot(String volume, String snapshot) {
    checkLive();
    return shared.createSnapshot(volume, snapshot);
  }

  @Override
  public List<Snapshot> snapshots(String volume) {
    checkLive();
    return shared.snapshots(volume);
  }

  @Override
  public io.torus.Page<Snapshot> snapshots(String volume, String after, int limit) {
    checkLive();
    return shared.snapshots(volume, after, limit);
  }

  @Override
  public Optional<Snapshot> snapshot(String volume, String snapshot) {
    checkLive();
    return shared.snapshot(volume, snapshot);
  }

  @Override
  public void deleteSnapshot(String volume, String snapshot) {
    checkLive();
    shared.deleteSnapshot(volume, snapshot);
  }

  @Override
  public Head restoreSnapshot(String volume, String snapshot) {
    checkLive();
    return shared.restoreSnapshot(volume, snapshot);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot) {
    checkLive();
    return shared.createClone(name, sourceVolume, snapshot);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot,
      io.torus.VolumeKeys keys) {
    checkLive();
    return shared.createClone(name, sourceVolume, snapshot, keys);
  }

  @Override
  public boolean supportsEncryption() {
    return true;
  }

  @Override
  public VolumeInfo setVolumeKeys(String volume, io.torus.VolumeKeys expected,
      io.torus.VolumeKeys replacement) {
    checkLive();
    return shared.setVolumeKeys(volume, expected, replacement);
  }

  @Override
  public Optional<CloneOrigin> cloneOrigin(String volume) {
    checkLive();
    return shared.cloneOrigin(volume);
  }

  @Override
  public LiveRoots liveRoots() {
    checkLive();
    return shared.liveRoots();
  }

  @Override
  public void addSessionListener(SessionListener listener) {
    listeners.add(listener);
  }

  @Override
  public PeerRegistry peers() {
    checkLive();
    return registry;
  }

  @Override
  public RingStore ring() {
    checkLive();
    return shared.ring();
  }

  @Override
  public RebalanceStore rebalance() {
    checkLive();
    return shared.rebalance();
  }

  @Override
  public LeaderElection election(String name, String candidate) {
    checkLive();
    LeaderElection e = shared.election(name, candidate);
    candidacies.add(e);
    return e;
  }

  @Override
  public PeerAuthority authority() {
    return shared.authority();
  }

  @Override
  public ClusterDefaultsStore defaults() {
    return shared.defaults();
  }

  /**
   * Ends the session as a lost lease would: its locks are released and its listeners are
   * told {@code cause} (the node then fences its writable volumes).
   */
  public void expire(Throwable cause) {
    if (end()) {
      for (SessionListener l : listeners) {
        try {
          l.sessionLost(cause);
        } catch (RuntimeException e) {
          LOG.warn("session listener failed", e);
        }
      }
    }
  }

  /** Ends the session: releases its locks, resigns, marks its peer down. Idempotent. */
  @Override
  public void close() {
    end();
  }

  private synchronized boolean end() {
    if (ended) {
      return false;
    }
    ended = true;
    for (VolumeLock l : new ArrayList<>(held.values())) {
      release(l);
    }
    for (LeaderElection e : candidacies) {
      e.close();
    }
    registry.close();
    return true;
  }

  @Override
  public String toString() {
    return "LocalSession[" + shared + "]";
  }
}
