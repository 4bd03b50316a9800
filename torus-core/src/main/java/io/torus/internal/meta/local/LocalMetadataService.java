package io.torus.internal.meta.local;

// Over 600 lines because it is the whole embedded metadata contract (volumes, heads, locks,
// snapshots, clones, keys) under one monitor; state, log, file and codec are classes of their own.

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
import io.torus.VolumeKeys;
import io.torus.internal.meta.ErasureRules;
import io.torus.internal.meta.MapPages;
import io.torus.internal.meta.KeyRules;
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
 * <p>Durability: a head change (a commit, a lock grant) is appended to the directory's head
 * log and forced; concurrent head changes of different volumes share one force (group commit,
 * see {@link HeadLog}). Every other change rewrites the whole state file, a checkpoint that
 * also empties the log; so does a head change once the log is full, and closing the service.
 * A call returns only once its change is durable.
 *
 * <p>Concurrency: thread-safe; every call runs under one monitor, except that a head change
 * waits for its force outside it. A change is applied to a copy of the state ({@code state},
 * which later changes build on) and written; it is published to readers ({@code visible})
 * only once durable, so no read sees a change that may still be lost, and a call that throws
 * changes nothing a reader can see.
 *
 * <p>Nodes of one process share a service through {@link #session() sessions}: each has its
 * own peer registration, locks and leadership, released when its session ends, over the same
 * volumes, ring and members (see {@link LocalCoordination}).
 *
 * <p>Failure: writer locks live in memory only. They belong to this process, so after a
 * restart no volume is locked (the process that held a lock is gone). A damaged state file
 * makes {@link #open} throw {@link io.torus.ErrorCode#EIO} naming the file; it is never reset.
 * After a failed write or force whose outcome on disk is unknown, every change fails with
 * {@code EIO} until the service is reopened; reads go on seeing the last durable state.
 * The directory is guarded by an OS file lock so two processes cannot share it.
 */
public final class LocalMetadataService implements MetadataService, Coordination {
  private final LocalStateFile file;
  private final LocalCoordination coordination;
  private final Clock clock;
  private final Map<Long, VolumeLock> locks = new HashMap<>();
  private LocalState state; // every change applied, durable or not
  private volatile LocalState visible; // every durable change
  private long visibleSeq; // the last log record in visible
  private long appendedSeq; // the last log record in state
  private boolean closed;

  private LocalMetadataService(LocalStateFile file, Clock clock) {
    this.file = file;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.state = file == null ? LocalState.EMPTY : file.recover();
    this.visible = state;
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
    return open(dir, clock, LocalStateFile.MAX_LOG_BYTES);
  }

  /** Like {@link #open(Path, Clock)} with the head log's bound in bytes (tests). */
  static LocalMetadataService open(Path dir, Clock clock, long maxLogBytes) {
    Objects.requireNonNull(clock, "clock");
    LocalStateFile f = dir == null ? null : LocalStateFile.open(dir, maxLogBytes);
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
        spec.replication(), clock.instant(), null, 0, rev).withKeys(spec.encryption())
        .withErasure(spec.erasure()).withQos(spec.qos());
    publish(state.with(v, id + 1, rev));
    return v.info();
  }

  @Override
  public synchronized Optional<VolumeInfo> volume(String name) {
    VolumeSpec.checkName(name);
    checkOpen();
    return Optional.ofNullable(visible.volumes().get(name)).map(VolumeRecord::info);
  }

  @Override
  public synchronized List<VolumeInfo> volumes() {
    checkOpen();
    List<VolumeInfo> out = new ArrayList<>(visible.volumes().size());
    for (VolumeRecord v : visible.volumes().values()) {
      out.add(v.info());
    }
    return out;
  }

  @Override
  public synchronized io.torus.Page<VolumeInfo> volumes(String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      VolumeSpec.checkName(after);
    }
    checkOpen();
    return MapPages.page(visible.volumes(), after, limit, VolumeRecord::info);
  }

  @Override
  public synchronized VolumeInfo setVolumeReplication(String name, int replication) {
    VolumeRecord v = existing(name);
    ErasureRules.checkReplicationChange(v.info());
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
  public synchronized VolumeInfo setVolumeQos(String name, io.torus.VolumeQos qos) {
    VolumeRecord v = existing(name);
    Objects.requireNonNull(qos, "qos");
    if (qos.equals(v.qos())) {
      return v.info();
    }
    VolumeRecord limited = v.withQos(qos);
    publish(state.with(limited, state.nextVolumeId(), state.revision()));
    return limited.info();
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
    return byId(visible, volumeId).head();
  }

  @Override
  public VolumeLock lockVolume(long volumeId, String holder) {
    checkHolder(holder);
    VolumeLock lock;
    Appended a;
    synchronized (this) {
      VolumeRecord v = byId(state, volumeId);
      checkWritable();
      VolumeLock held = locks.get(volumeId);
      if (held != null) {
        throw new VolumeLockedException(v.name(), held.holder());
      }
      long rev = state.revision() + 1;
      long gen = lockedGeneration(v.head());
      HeadChange c = new HeadChange(volumeId, v.root(), gen, rev, gen + Head.RESERVATION, rev);
      a = publishHead(c);
      lock = new VolumeLock(volumeId, holder, rev, a.head());
      locks.put(volumeId, lock);
    }
    try {
      awaitDurable(a);
    } catch (RuntimeException e) {
      unlock(lock); // never reported: nobody may hold it
      throw e;
    }
    return lock;
  }

  @Override
  public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    Objects.requireNonNull(lock, "lock");
    Objects.requireNonNull(expected, "expected");
    checkCommit(lock, expected, root, generation);
    Appended a;
    synchronized (this) {
      a = appendCommit(lock, expected, root, generation);
    }
    awaitDurable(a);
    return a.head();
  }

  private Appended appendCommit(VolumeLock lock, Head expected, BlockRef root, long generation) {
    checkOpen();
    checkWritable();
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
    HeadChange c = new HeadChange(v.id(), root, generation, rev,
        committedReservation(v.head(), generation), rev);
    return publishHead(c);
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
    return new ArrayList<>(existing(visible, volume).snapshots().values());
  }

  @Override
  public synchronized io.torus.Page<Snapshot> snapshots(String volume, String after,
      int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      Snapshot.checkName(after);
    }
    return MapPages.page(existing(visible, volume).snapshots(), after, limit, s -> s);
  }

  @Override
  public synchronized Optional<Snapshot> snapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    return Optional.ofNullable(existing(visible, volume).snapshots().get(snapshot));
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
    return createClone(name, sourceVolume, snapshot, null);
  }

  @Override
  public boolean supportsEncryption() {
    return true;
  }

  @Override
  public synchronized VolumeInfo createClone(String name, String sourceVolume,
      String snapshot, VolumeKeys keys) {
    VolumeSpec.checkName(name);
    VolumeRecord src = existing(sourceVolume);
    KeyRules.cloneKeys(src.info(), keys);
    Snapshot snap = existingSnapshot(src, snapshot);
    if (state.volumes().containsKey(name)) {
      throw new VolumeExistsException("volume '" + name + "' already exists");
    }
    VolumeSpec spec = new VolumeSpec(name, snap.size(), src.blockSize(), src.replication(),
        null, src.erasure());
    long id = state.nextVolumeId();
    long rev = state.revision() + 1;
    VolumeRecord v = new VolumeRecord(id, spec.name(), spec.size(), spec.blockSize(),
        spec.replication(), clock.instant(), snap.root(), snap.generation(), rev,
        new CloneOrigin(src.id(), src.name(), snap.name()), new java.util.TreeMap<>())
        .withKeys(keys).withErasure(spec.erasure()).withQos(src.qos());
    publish(state.with(v, id + 1, rev));
    return v.info();
  }

  @Override
  public synchronized VolumeInfo setVolumeKeys(String volume, VolumeKeys expected,
      VolumeKeys replacement) {
    VolumeRecord v = existing(volume);
    KeyRules.checkRekey(v.info(), expected, replacement);
    long rev = state.revision() + 1;
    VolumeRecord rekeyed = v.withKeys(replacement);
    publish(state.with(rekeyed, state.nextVolumeId(), rev));
    return rekeyed.info();
  }

  @Override
  public synchronized Optional<CloneOrigin> cloneOrigin(String volume) {
    return Optional.ofNullable(existing(visible, volume).origin());
  }

  @Override
  public synchronized LiveRoots liveRoots() {
    checkOpen();
    LocalState s = visible;
    List<VolumeRecord> byId = new ArrayList<>(s.volumes().values());
    byId.sort(java.util.Comparator.comparingLong(VolumeRecord::id));
    List<LiveRoot> roots = new ArrayList<>();
    for (VolumeRecord v : byId) {
      roots.add(new LiveRoot(v.id(), v.name(), null, v.root(), v.generation()));
      for (Snapshot snap : v.snapshots().values()) {
        roots.add(new LiveRoot(v.id(), v.name(), snap.name(), snap.root(), snap.generation()));
      }
    }
    return new LiveRoots(s.revision(), roots);
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
          io.torus.Erasure erasure, double overcommitRatio, boolean force) {
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

  /**
   * Ends every session, checkpoints (writes the state file and empties the head log, unless
   * a failed write broke the directory) and releases the directory. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (!closed) {
      coordination.close();
      closed = true;
      locks.clear();
      if (file != null) {
        try {
          if (file.hasLog() && !file.isBroken()) {
            publish(state);
          }
        } finally {
          file.close();
        }
      }
    }
  }

  /** Sets the hook every force of the head log goes through (tests). */
  synchronized void forceHook(ForceHook hook) {
    file.forceHook(hook);
  }

  @Override
  public String toString() {
    return "LocalMetadataService[" + (file == null ? "in memory" : file.path()) + "]";
  }

  private VolumeRecord existing(String name) {
    return existing(state, name);
  }

  private VolumeRecord existing(LocalState s, String name) {
    VolumeSpec.checkName(name);
    checkOpen();
    VolumeRecord v = s.volumes().get(name);
    if (v == null) {
      throw new VolumeNotFoundException("no volume named '" + name + "'");
    }
    return v;
  }

  private VolumeRecord byId(LocalState s, long volumeId) {
    checkOpen();
    VolumeRecord v = s.byId(volumeId);
    if (v == null) {
      throw new VolumeNotFoundException("no volume with id " + volumeId);
    }
    return v;
  }

  /** Writes a whole state (a checkpoint) and publishes it; under the monitor. */
  private void publish(LocalState next) {
    if (file != null) {
      file.write(next);
    }
    state = next;
    visible = next;
    visibleSeq = appendedSeq;
  }

  /**
   * A head change written (not yet durable if {@code seq > 0}): its head, the state once it
   * is applied, and its log sequence number (0 if it is durable already).
   */
  private record Appended(Head head, LocalState after, long seq) {}

  /**
   * Applies a head change and appends it to the log, or (log full, or in memory) publishes it
   * at once; under the monitor. The caller then calls {@link #awaitDurable} without it.
   */
  private Appended publishHead(HeadChange c) {
    LocalState next = state.withHead(c);
    Head head = next.byId(c.volumeId()).head();
    if (file == null || !file.logHasRoom()) {
      publish(next);
      return new Appended(head, next, 0);
    }
    long seq = file.append(c);
    appendedSeq = seq;
    state = next;
    return new Appended(head, next, seq);
  }

  /** Returns once {@code a} is durable, then publishes it; not under the monitor. */
  private void awaitDurable(Appended a) {
    if (a.seq() == 0) {
      return;
    }
    file.awaitDurable(a.seq());
    synchronized (this) {
      if (a.seq() > visibleSeq) {
        visible = a.after();
        visibleSeq = a.seq();
      }
    }
  }

  private void checkWritable() {
    if (file != null) {
      file.checkWritable();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new TorusClosedException(this + " is closed");
    }
  }
}
