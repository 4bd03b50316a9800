package io.torus.internal.meta.local;

import static io.torus.internal.meta.LockRules.checkCommit;
import static io.torus.internal.meta.LockRules.checkHolder;
import static io.torus.internal.meta.LockRules.committedReservation;
import static io.torus.internal.meta.LockRules.lockedGeneration;

import io.torus.internal.meta.ClusterDefaultsStore;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerAuthority;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.RingStore;
import io.torus.spi.BlockRef;
import io.torus.ConcurrentUpdateException;
import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.LiveRoots.LiveRoot;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import io.torus.spi.VolumeLock;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The metadata of a single JVM, without etcd: the embedded default. Optionally persisted in a
 * data directory (see {@link LocalStateFile} and {@link LocalStateCodec} for the format).
 *
 * <p>Invariants: volume ids and revisions only grow and survive restarts; a lock's epoch is
 * the revision taken when it was granted, so epochs are strictly increasing across all
 * volumes; a volume's head revision changes on every head change (lock or commit).
 *
 * <p>Concurrency: thread-safe; every call runs under one monitor. A change is applied to a
 * copy of the state, written durably, and only then published, so a call that throws
 * changes nothing.
 *
 * <p>Nodes of one process share a service through {@link #session() sessions}: each has its
 * own peer registration, locks and leadership, released when its session ends, over the same
 * volumes, ring and members (see {@link LocalCoordination}).
 *
 * <p>Failure: writer locks live in memory only. They belong to this process, so after a
 * restart no volume is locked (the process that held a lock is gone). A damaged state file
 * makes {@link #open} throw {@link io.torus.ErrorCode#EIO} naming the file; it is never reset.
 * The directory is guarded by an OS file lock so two processes cannot share it.
 */
public final class LocalMetadataService implements MetadataService, Coordination {
  private final LocalStateFile file;
  private final LocalCoordination coordination;
  private final Clock clock;
  private final Map<Long, VolumeLock> locks = new HashMap<>();
  private LocalState state;
  private boolean closed;

  private LocalMetadataService(LocalStateFile file, Clock clock) {
    this.file = file;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.state = file == null ? LocalState.EMPTY : file.read();
    this.coordination = new LocalCoordination(this,
        (members, ring) -> publish(state.withCoordination(members, ring)), state.members(),
        state.ring());
  }

  /**
   * A session of one more node sharing this service (its own peer registration, locks,
   * election candidacies and session listeners). Closing the session releases them; closing
   * the service ends every session.
   */
  public LocalSession session() {
    checkOpenUnlocked();
    return new LocalSession(this, coordination.newRegistry());
  }

  /** A service kept in memory only; everything is lost when it is closed. */
  public static LocalMetadataService inMemory() {
    return open(null, Clock.systemUTC());
  }

  /**
   * Opens the service persisted in {@code dir}, creating the directory if needed.
   *
   * @param dir the directory, or {@code null} to keep everything in memory
   * @throws TorusException {@link io.torus.ErrorCode#EIO} if the stored state is damaged or
   *     cannot be read, {@link io.torus.ErrorCode#EPERM} if the directory is in use
   */
  public static LocalMetadataService open(Path dir) {
    return open(dir, Clock.systemUTC());
  }

  /**
   * Like {@link #open(Path)} with the clock that stamps volume creation times.
   *
   * @param dir the directory, or {@code null} to keep everything in memory
   * @param clock the clock; not null
   */
  public static LocalMetadataService open(Path dir, Clock clock) {
    Objects.requireNonNull(clock, "clock");
    LocalStateFile f = dir == null ? null : LocalStateFile.open(dir);
    try {
      return new LocalMetadataService(f, clock);
    } catch (RuntimeException e) {
      if (f != null) {
        f.close();
      }
      throw e;
    }
  }

  @Override
  public synchronized VolumeInfo createVolume(VolumeSpec spec) {
    Objects.requireNonNull(spec, "spec");
    checkOpen();
    if (state.volumes().containsKey(spec.name())) {
      throw new VolumeExistsException("volume '" + spec.name() + "' already exists");
    }
    long id = state.nextVolumeId();
    long rev = state.revision() + 1;
    VolumeRecord v = new VolumeRecord(id, spec.name(), spec.size(), spec.blockSize(),
        spec.replication(), clock.instant(), null, 0, rev);
    publish(state.with(v, id + 1, rev));
    return v.info();
  }

  @Override
  public synchronized Optional<VolumeInfo> volume(String name) {
    VolumeSpec.checkName(name);
    checkOpen();
    return Optional.ofNullable(state.volumes().get(name)).map(VolumeRecord::info);
  }

  @Override
  public synchronized List<VolumeInfo> volumes() {
    checkOpen();
    List<VolumeInfo> out = new ArrayList<>(state.volumes().size());
    for (VolumeRecord v : state.volumes().values()) {
      out.add(v.info());
    }
    return out;
  }

  @Override
  public synchronized VolumeInfo setVolumeReplication(String name, int replication) {
    VolumeRecord v = existing(name);
    new VolumeSpec(name, VolumeSpec.MIN_BLOCK_SIZE, v.blockSize(), replication); // validates
    if (replication == v.replication()) {
      return v.info();
    }
    VolumeRecord changed = v.withReplication(replication);
    publish(state.with(changed, state.nextVolumeId(), state.revision()));
    return changed.info();
  }

  @Override
  public synchronized VolumeInfo resizeVolume(String name, long newSize) {
    VolumeRecord v = existing(name);
    VolumeSpec.checkSize(newSize);
    if (newSize < v.size()) {
      throw TorusException.invalid("volume '" + name + "' can only grow: " + newSize + " < "
          + v.size());
    }
    if (newSize == v.size()) {
      return v.info();
    }
    VolumeRecord grown = v.withSize(newSize);
    publish(state.with(grown, state.nextVolumeId(), state.revision()));
    return grown.info();
  }

  @Override
  public synchronized void deleteVolume(String name) {
    VolumeRecord v = existing(name);
    VolumeLock held = locks.get(v.id());
    if (held != null) {
      throw new VolumeLockedException(name, held.holder());
    }
    publish(state.without(name));
  }

  @Override
  public synchronized Head head(long volumeId) {
    return byId(volumeId).head();
  }

  @Override
  public synchronized VolumeLock lockVolume(long volumeId, String holder) {
    checkHolder(holder);
    VolumeRecord v = byId(volumeId);
    VolumeLock held = locks.get(volumeId);
    if (held != null) {
      throw new VolumeLockedException(v.name(), held.holder());
    }
    long rev = state.revision() + 1;
    long gen = lockedGeneration(v.head());
    VolumeRecord advanced = v.withHead(v.root(), gen, rev, gen + Head.RESERVATION);
    publish(state.with(advanced, state.nextVolumeId(), rev));
    VolumeLock lock = new VolumeLock(volumeId, holder, rev, advanced.head());
    locks.put(volumeId, lock);
    return lock;
  }

  @Override
  public synchronized Head commitHead(VolumeLock lock, Head expected, BlockRef root,
      long generation) {
    Objects.requireNonNull(lock, "lock");
    Objects.requireNonNull(expected, "expected");
    checkCommit(lock, expected, root, generation);
    checkOpen();
    VolumeLock held = locks.get(lock.volumeId());
    VolumeRecord v = state.byId(lock.volumeId());
    if (held == null || held.epoch() != lock.epoch() || v == null) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + " is no longer held" + (held == null ? "" : " (held by "
          + held.holder() + " with epoch " + held.epoch() + ")"));
    }
    if (v.revision() != expected.revision()) {
      throw new ConcurrentUpdateException("head of volume " + v.name() + " changed: "
          + "expected revision " + expected.revision() + ", found " + v.revision());
    }
    long rev = state.revision() + 1;
    VolumeRecord committed = v.withHead(root, generation, rev,
        committedReservation(v.head(), generation));
    publish(state.with(committed, state.nextVolumeId(), rev));
    return committed.head();
  }

  @Override
  public synchronized void checkLock(VolumeLock lock) {
    VolumeLock held = locks.get(lock.volumeId());
    if (held == null || held.epoch() != lock.epoch()) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + " is no longer held");
    }
  }

  @Override
  public synchronized void unlock(VolumeLock lock) {
    Objects.requireNonNull(lock, "lock");
    VolumeLock held = locks.get(lock.volumeId());
    if (held != null && held.epoch() == lock.epoch()) {
      locks.remove(lock.volumeId());
    }
  }

  @Override
  public synchronized Snapshot createSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    VolumeRecord v = existing(volume);
    if (v.snapshots().containsKey(snapshot)) {
      throw new VolumeExistsException("snapshot '" + volume + "@" + snapshot
          + "' already exists");
    }
    Snapshot snap = new Snapshot(v.id(), v.name(), snapshot, v.root(), v.generation(),
        v.size(), clock.instant());
    publish(state.with(v.withSnapshot(snap, true), state.nextVolumeId(), state.revision() + 1));
    return snap;
  }

  @Override
  public synchronized List<Snapshot> snapshots(String volume) {
    return new ArrayList<>(existing(volume).snapshots().values());
  }

  @Override
  public synchronized Optional<Snapshot> snapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    return Optional.ofNullable(existing(volume).snapshots().get(snapshot));
  }

  @Override
  public synchronized void deleteSnapshot(String volume, String snapshot) {
    VolumeRecord v = existing(volume);
    Snapshot snap = existingSnapshot(v, snapshot);
    publish(state.with(v.withSnapshot(snap, false), state.nextVolumeId(),
        state.revision() + 1));
  }

  @Override
  public synchronized Head restoreSnapshot(String volume, String snapshot) {
    VolumeRecord v = existing(volume);
    Snapshot snap = existingSnapshot(v, snapshot);
    VolumeLock held = locks.get(v.id());
    if (held != null) {
      throw new VolumeLockedException(volume, held.holder());
    }
    long rev = state.revision() + 1;
    VolumeRecord restored = v.withHead(snap.root(), v.generation(), rev);
    publish(state.with(restored, state.nextVolumeId(), rev));
    return restored.head();
  }

  @Override
  public synchronized VolumeInfo createClone(String name, String sourceVolume,
      String snapshot) {
    VolumeSpec.checkName(name);
    VolumeRecord src = existing(sourceVolume);
    Snapshot snap = existingSnapshot(src, snapshot);
    if (state.volumes().containsKey(name)) {
      throw new VolumeExistsException("volume '" + name + "' already exists");
    }
    VolumeSpec spec = new VolumeSpec(name, snap.size(), src.blockSize(), src.replication());
    long id = state.nextVolumeId();
    long rev = state.revision() + 1;
    VolumeRecord v = new VolumeRecord(id, spec.name(), spec.size(), spec.blockSize(),
        spec.replication(), clock.instant(), snap.root(), snap.generation(), rev,
        new CloneOrigin(src.id(), src.name(), snap.name()), new java.util.TreeMap<>());
    publish(state.with(v, id + 1, rev));
    return v.info();
  }

  @Override
  public synchronized Optional<CloneOrigin> cloneOrigin(String volume) {
    return Optional.ofNullable(existing(volume).origin());
  }

  @Override
  public synchronized LiveRoots liveRoots() {
    checkOpen();
    List<VolumeRecord> byId = new ArrayList<>(state.volumes().values());
    byId.sort(java.util.Comparator.comparingLong(VolumeRecord::id));
    List<LiveRoot> roots = new ArrayList<>();
    for (VolumeRecord v : byId) {
      roots.add(new LiveRoot(v.id(), v.name(), null, v.root(), v.generation()));
      for (Snapshot snap : v.snapshots().values()) {
        roots.add(new LiveRoot(v.id(), v.name(), snap.name(), snap.root(), snap.generation()));
      }
    }
    return new LiveRoots(state.revision(), roots);
  }

  private static Snapshot existingSnapshot(VolumeRecord v, String snapshot) {
    Snapshot.checkName(snapshot);
    Snapshot snap = v.snapshots().get(snapshot);
    if (snap == null) {
      throw new VolumeNotFoundException("no snapshot '" + v.name() + "@" + snapshot + "'");
    }
    return snap;
  }

  @Override
  public PeerRegistry peers() {
    return coordination.peers();
  }

  @Override
  public RingStore ring() {
    return coordination.ring();
  }

  @Override
  public RebalanceStore rebalance() {
    return coordination.rebalance();
  }

  @Override
  public LeaderElection election(String name, String candidate) {
    return coordination.election(name, candidate);
  }

  private final byte[] token = newToken();

  private static byte[] newToken() {
    byte[] t = new byte[16];
    new java.security.SecureRandom().nextBytes(t);
    return t;
  }

  /**
   * The token of this process's cluster (random, kept in memory: every peer that shares this
   * service lives and restarts with it) and the epochs of the locks this service granted.
   */
  @Override
  public PeerAuthority authority() {
    checkOpenUnlocked();
    return new PeerAuthority() {
      @Override
      public byte[] clusterToken() {
        return token.clone();
      }

      @Override
      public boolean isCurrent(long volumeId, long epoch) {
        synchronized (LocalMetadataService.this) {
          checkOpen();
          VolumeLock held = locks.get(volumeId);
          return held != null && held.epoch() == epoch;
        }
      }
    };
  }

  /** Local metadata keeps no cluster defaults: reads are empty, changes are refused. */
  @Override
  public ClusterDefaultsStore defaults() {
    return new ClusterDefaultsStore() {
      @Override
      public Optional<io.torus.ClusterAdmin.Defaults> read() {
        return Optional.empty();
      }

      @Override
      public io.torus.ClusterAdmin.Defaults initialize(int replication, int blockSize,
          boolean force) {
        throw refused();
      }

      @Override
      public io.torus.ClusterAdmin.Defaults setReplication(int replication) {
        throw refused();
      }

      private TorusException refused() {
        return TorusException.invalid("cluster defaults live in etcd; this node has no etcd");
      }
    };
  }

  private synchronized void checkOpenUnlocked() {
    checkOpen();
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      coordination.close();
      closed = true;
      locks.clear();
      if (file != null) {
        file.close();
      }
    }
  }

  @Override
  public String toString() {
    return "LocalMetadataService[" + (file == null ? "in memory" : file.path()) + "]";
  }

  private VolumeRecord existing(String name) {
    VolumeSpec.checkName(name);
    checkOpen();
    VolumeRecord v = state.volumes().get(name);
    if (v == null) {
      throw new VolumeNotFoundException("no volume named '" + name + "'");
    }
    return v;
  }

  private VolumeRecord byId(long volumeId) {
    checkOpen();
    VolumeRecord v = state.byId(volumeId);
    if (v == null) {
      throw new VolumeNotFoundException("no volume with id " + volumeId);
    }
    return v;
  }

  private void publish(LocalState next) {
    if (file != null) {
      file.write(next);
    }
    state = next;
  }

  private void checkOpen() {
    if (closed) {
      throw new TorusClosedException(this + " is closed");
    }
  }
}
