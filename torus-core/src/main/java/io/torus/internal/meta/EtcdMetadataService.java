package io.torus.internal.meta;

import static io.torus.internal.meta.EtcdLayout.corrupt;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.torus.spi.BlockRef;
import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.EtcdLayout.HeadValue;
import io.torus.internal.meta.EtcdLayout.Info;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.LiveRoots.LiveRoot;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import io.torus.spi.VolumeLock;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The metadata of a cluster, in etcd (through jetcd). The key layout is owned by
 * {@link EtcdLayout}; build one with {@link #builder()}.
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
 */
public final class EtcdMetadataService implements MetadataService, Coordination {
  private static final int MAX_CAS_ATTEMPTS = 500;

  private final EtcdOptions options;
  private final EtcdLayout layout;
  private final Client client;
  private final KV kv;
  private final Clock clock;
  private final EtcdSession session;
  /** Locks taken through this service: epoch to the lease they were taken under. */
  private final Map<Long, Long> held = new ConcurrentHashMap<>();
  private final List<EtcdLeaderElection> elections = new CopyOnWriteArrayList<>();
  private final EtcdRingStore ring;
  private final EtcdRebalanceStore rebalance;
  private EtcdPeerRegistry peers;
  private volatile boolean closed;

  private EtcdMetadataService(EtcdOptions options) {
    this.options = options;
    this.layout = new EtcdLayout(options.rootPrefix());
    this.clock = options.clock();
    this.client = buildClient(options);
    this.kv = client.getKVClient();
    try {
      this.session = new EtcdSession(client, options.leaseTtl(), options.requestTimeout(),
          this::unreachable);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    session.addListener(cause -> held.clear());
    this.ring = new EtcdRingStore(this);
    this.rebalance = new EtcdRebalanceStore(this);
  }

  /** A builder of an etcd metadata service. */
  public static EtcdOptions.Builder builder() {
    return new EtcdOptions.Builder(EtcdMetadataService::new);
  }

  private static Client buildClient(EtcdOptions o) {
    ClientBuilder b = Client.builder()
        .endpoints(o.endpoints().toArray(new String[0]))
        .connectTimeout(o.connectTimeout());
    if (o.user() != null) {
      b.user(bytes(o.user())).password(bytes(o.password()));
    }
    if (o.trustedCa() != null || o.clientCertificate() != null) {
      try {
        b.sslContext(ssl -> {
          if (o.trustedCa() != null) {
            ssl.trustManager(o.trustedCa().toFile());
          }
          if (o.clientCertificate() != null) {
            ssl.keyManager(o.clientCertificate().toFile(), o.clientKey().toFile());
          }
        });
      } catch (javax.net.ssl.SSLException | RuntimeException e) {
        throw new TorusException(ErrorCode.EINVAL, "bad etcd TLS settings: " + e, e);
      }
    }
    return b.build();
  }

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    Objects.requireNonNull(spec, "spec");
    checkOpen();
    return create(spec, null, null, 0, null);
  }

  /**
   * Creates a volume whose first head is {@code root}/{@code generation}; {@code guard}, if
   * not null, must hold too (else the creation is retried from scratch by the caller: this
   * returns null).
   */
  private VolumeInfo create(VolumeSpec spec, CloneOrigin origin, BlockRef root,
      long generation, Cmp guard) {
    String nameKey = layout.nameKey(spec.name());
    String counterKey = layout.volumeIdCounter();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue counter = first(get(counterKey, "reading the volume id counter"));
      long last = counter == null ? 0 : EtcdLayout.decodeCounter(counterKey, str(counter));
      long id = last + 1;
      Cmp counterUnchanged = counter == null
          ? new Cmp(bytes(counterKey), Cmp.Op.EQUAL, CmpTarget.version(0))
          : new Cmp(bytes(counterKey), Cmp.Op.EQUAL,
              CmpTarget.modRevision(counter.getModRevision()));
      Instant created = clock.instant();
      List<Cmp> cmps = new ArrayList<>(List.of(counterUnchanged, absent(nameKey)));
      if (guard != null) {
        cmps.add(guard);
      }
      TxnResponse r = await(kv.txn()
          .If(cmps.toArray(new Cmp[0]))
          .Then(put(counterKey, EtcdLayout.encodeCounter(id)),
              put(nameKey, EtcdLayout.encodeId(id)),
              put(layout.infoKey(id), EtcdLayout.encodeInfo(id, spec, created, origin)),
              put(layout.headKey(id), EtcdLayout.encodeHead(root, generation, generation)))
          .Else(Op.get(bytes(nameKey), GetOption.DEFAULT))
          .commit(), "creating volume " + spec.name());
      if (r.isSucceeded()) {
        return new VolumeInfo(id, spec.name(), spec.size(), spec.blockSize(),
            spec.replication(), created);
      }
      if (first(r.getGetResponses().get(0)) != null) {
        throw new VolumeExistsException("volume '" + spec.name() + "' already exists");
      }
      if (guard != null) {
        return null;
      }
    }
    throw contention("creating volume " + spec.name());
  }

  @Override
  public Optional<VolumeInfo> volume(String name) {
    VolumeSpec.checkName(name);
    checkOpen();
    return Optional.ofNullable(find(name)).map(Found::info);
  }

  @Override
  public List<VolumeInfo> volumes() {
    checkOpen();
    GetResponse r = await(kv.get(bytes(layout.volumesPrefix()),
        GetOption.builder().isPrefix(true).build()), "listing volumes");
    List<VolumeInfo> out = new ArrayList<>();
    for (KeyValue e : r.getKvs()) {
      String key = str(e.getKey());
      if (layout.isInfoKey(key)) {
        out.add(info(key, str(e)));
      }
    }
    out.sort(Comparator.comparing(VolumeInfo::name));
    return out;
  }

  @Override
  public VolumeInfo setVolumeReplication(String name, int replication) {
    VolumeSpec.checkName(name);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = find(name);
      if (f == null) {
        throw new VolumeNotFoundException("no volume named '" + name + "'");
      }
      VolumeInfo v = f.info();
      VolumeSpec spec = new VolumeSpec(name, v.size(), v.blockSize(), replication);
      if (replication == v.replication()) {
        return v;
      }
      String infoKey = layout.infoKey(v.id());
      TxnResponse r = await(kv.txn()
          .If(modRevision(infoKey, f.infoRevision()))
          .Then(put(infoKey, EtcdLayout.encodeInfo(v.id(), spec, v.created(), f.origin())))
          .commit(), "changing the replication of volume " + name);
      if (r.isSucceeded()) {
        return new VolumeInfo(v.id(), name, v.size(), v.blockSize(), replication, v.created());
      }
    }
    throw contention("changing the replication of volume " + name);
  }

  @Override
  public VolumeInfo resizeVolume(String name, long newSize) {
    VolumeSpec.checkName(name);
    VolumeSpec.checkSize(newSize);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = find(name);
      if (f == null) {
        throw new VolumeNotFoundException("no volume named '" + name + "'");
      }
      VolumeInfo v = f.info();
      if (newSize < v.size()) {
        throw TorusException.invalid("volume '" + name + "' can only grow: " + newSize + " < "
            + v.size());
      }
      if (newSize == v.size()) {
        return v;
      }
      VolumeSpec spec = new VolumeSpec(name, newSize, v.blockSize(), v.replication());
      String infoKey = layout.infoKey(v.id());
      TxnResponse r = await(kv.txn()
          .If(modRevision(infoKey, f.infoRevision()))
          .Then(put(infoKey, EtcdLayout.encodeInfo(v.id(), spec, v.created(), f.origin())))
          .commit(), "resizing volume " + name);
      if (r.isSucceeded()) {
        return new VolumeInfo(v.id(), name, newSize, v.blockSize(), v.replication(),
            v.created());
      }
    }
    throw contention("resizing volume " + name);
  }

  @Override
  public void deleteVolume(String name) {
    String nameKey = layout.nameKey(name);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue n = first(get(nameKey, "reading volume " + name));
      if (n == null) {
        throw new VolumeNotFoundException("no volume named '" + name + "'");
      }
      long id = EtcdLayout.decodeId(nameKey, str(n));
      String lockKey = layout.lockKey(id);
      TxnResponse r = await(kv.txn()
          .If(modRevision(nameKey, n.getModRevision()), absent(lockKey))
          .Then(Op.delete(bytes(nameKey), DeleteOption.DEFAULT),
              Op.delete(bytes(layout.volumePrefix(id)),
                  DeleteOption.builder().isPrefix(true).build()))
          .Else(Op.get(bytes(lockKey), GetOption.DEFAULT))
          .commit(), "deleting volume " + name);
      if (r.isSucceeded()) {
        return;
      }
      KeyValue lock = first(r.getGetResponses().get(0));
      if (lock != null) {
        throw new VolumeLockedException(name, EtcdLayout.decodeLock(lockKey, str(lock)).holder());
      }
    }
    throw contention("deleting volume " + name);
  }

  @Override
  public Head head(long volumeId) {
    checkOpen();
    String key = layout.headKey(volumeId);
    KeyValue h = first(get(key, "reading the head of volume " + volumeId));
    if (h == null) {
      throw new VolumeNotFoundException("no volume with id " + volumeId);
    }
    HeadValue v = EtcdLayout.decodeHead(key, str(h));
    return new Head(volumeId, v.root(), v.generation(), h.getModRevision(), v.reserved());
  }

  @Override
  public VolumeLock lockVolume(long volumeId, String holder) {
    HeadRules.checkHolder(holder);
    checkOpen();
    String lockKey = layout.lockKey(volumeId);
    String headKey = layout.headKey(volumeId);
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      long lease = session.leaseId();
      Head h = head(volumeId);
      long gen = HeadRules.lockedGeneration(h);
      long reserved = gen + Head.RESERVATION;
      TxnResponse r = await(kv.txn()
          .If(absent(lockKey), modRevision(headKey, h.revision()))
          .Then(Op.put(bytes(lockKey), bytes(EtcdLayout.encodeLock(lease, holder)),
                  PutOption.builder().withLeaseId(lease).build()),
              put(headKey, EtcdLayout.encodeHead(h.root(), gen, reserved)))
          .Else(Op.get(bytes(lockKey), GetOption.DEFAULT))
          .commit(), "locking volume " + volumeId);
      if (r.isSucceeded()) {
        long epoch = r.getHeader().getRevision();
        held.put(epoch, lease);
        if (!session.isLive(lease)) {
          held.remove(epoch);
          throw new LeaseLostException("the etcd session was lost while locking volume "
              + volumeId);
        }
        return new VolumeLock(volumeId, holder, epoch,
            new Head(volumeId, h.root(), gen, epoch, reserved));
      }
      KeyValue lock = first(r.getGetResponses().get(0));
      if (lock != null) {
        String owner = EtcdLayout.decodeLock(lockKey, str(lock)).holder();
        throw new VolumeLockedException(nameOf(volumeId), owner);
      }
    }
    throw contention("locking volume " + volumeId);
  }

  @Override
  public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    Objects.requireNonNull(lock, "lock");
    Objects.requireNonNull(expected, "expected");
    HeadRules.checkCommit(lock, expected, root, generation);
    checkOpen();
    long id = lock.volumeId();
    Long lease = held.get(lock.epoch());
    if (lease == null || !session.isLive(lease)) {
      throw new LeaseLostException("lock of volume " + id + " with epoch " + lock.epoch()
          + (lease == null ? " is not held by this node" : " was taken under a lost lease"));
    }
    String lockKey = layout.lockKey(id);
    String headKey = layout.headKey(id);
    long reserved = HeadRules.committedReservation(expected, generation);
    String value = EtcdLayout.encodeHead(root, generation, reserved);
    TxnResponse r = await(kv.txn()
        .If(new Cmp(bytes(lockKey), Cmp.Op.EQUAL, CmpTarget.createRevision(lock.epoch())),
            modRevision(headKey, expected.revision()))
        .Then(put(headKey, value))
        .Else(Op.get(bytes(lockKey), GetOption.DEFAULT),
            Op.get(bytes(headKey), GetOption.DEFAULT))
        .commit(), "committing the head of volume " + id);
    if (r.isSucceeded()) {
      return new Head(id, root, generation, r.getHeader().getRevision(), reserved);
    }
    KeyValue l = first(r.getGetResponses().get(0));
    KeyValue h = first(r.getGetResponses().get(1));
    if (l == null || l.getCreateRevision() != lock.epoch()) {
      held.remove(lock.epoch());
      throw new LeaseLostException("lock of volume " + id + " with epoch " + lock.epoch()
          + " is no longer held" + (l == null ? "" : " (now epoch " + l.getCreateRevision()
          + ")"));
    }
    if (h == null) {
      throw new VolumeNotFoundException("no volume with id " + id);
    }
    if (str(h).equals(value)) {
      // This very commit was applied earlier (a repeat after a timeout): only the lock
      // holder writes the head, and generations are never handed out twice.
      return new Head(id, root, generation, h.getModRevision(), reserved);
    }
    throw new ConcurrentUpdateException("head of volume " + id + " changed: expected "
        + "revision " + expected.revision() + ", found " + h.getModRevision());
  }

  @Override
  public void checkLock(VolumeLock lock) {
    Long lease = held.get(lock.epoch());
    if (lease == null || !session.isSurelyLive(lease)) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + (lease == null ? " is not held by this node"
          : " may have expired: its lease was not renewed within its TTL"));
    }
  }

  @Override
  public void unlock(VolumeLock lock) {
    Objects.requireNonNull(lock, "lock");
    checkOpen();
    held.remove(lock.epoch());
    String lockKey = layout.lockKey(lock.volumeId());
    await(kv.txn()
        .If(new Cmp(bytes(lockKey), Cmp.Op.EQUAL, CmpTarget.createRevision(lock.epoch())))
        .Then(Op.delete(bytes(lockKey), DeleteOption.DEFAULT))
        .commit(), "unlocking volume " + lock.volumeId());
  }

  // ---- snapshots and clones ----

  @Override
  public Snapshot createSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = existing(volume);
      long id = f.info().id();
      String headKey = layout.headKey(id);
      String snapKey = layout.snapshotKey(id, snapshot);
      KeyValue h = first(get(headKey, "reading the head of volume " + volume));
      if (h == null) {
        continue; // deleted meanwhile: find() decides on the next round
      }
      HeadValue head = EtcdLayout.decodeHead(headKey, str(h));
      Snapshot snap = new Snapshot(id, volume, snapshot, head.root(), head.generation(),
          f.info().size(), clock.instant());
      TxnResponse r = await(kv.txn()
          .If(modRevision(headKey, h.getModRevision()), absent(snapKey))
          .Then(put(snapKey, EtcdLayout.encodeSnapshot(snap)))
          .Else(Op.get(bytes(snapKey), GetOption.DEFAULT))
          .commit(), "creating snapshot " + volume + "@" + snapshot);
      if (r.isSucceeded()) {
        return snap;
      }
      if (first(r.getGetResponses().get(0)) != null) {
        throw new VolumeExistsException("snapshot '" + volume + "@" + snapshot
            + "' already exists");
      }
    }
    throw contention("creating snapshot " + volume + "@" + snapshot);
  }

  @Override
  public List<Snapshot> snapshots(String volume) {
    checkOpen();
    Found f = existing(volume);
    long id = f.info().id();
    GetResponse r = await(kv.get(bytes(layout.snapshotsPrefix(id)),
        GetOption.builder().isPrefix(true).build()), "listing snapshots of " + volume);
    List<Snapshot> out = new ArrayList<>();
    for (KeyValue e : r.getKvs()) {
      String key = str(e.getKey());
      if (!layout.isSnapshotKey(key)) {
        throw corrupt(key, str(e), "unexpected key among the snapshots of volume " + id);
      }
      out.add(decodeSnapshot(key, str(e), id, volume));
    }
    out.sort(Comparator.comparing(Snapshot::name));
    return out;
  }

  @Override
  public Optional<Snapshot> snapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    checkOpen();
    return Optional.ofNullable(findSnapshot(existing(volume), snapshot)).map(FoundSnapshot::snap);
  }

  @Override
  public void deleteSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    checkOpen();
    Found f = existing(volume);
    String snapKey = layout.snapshotKey(f.info().id(), snapshot);
    long deleted = await(kv.delete(bytes(snapKey)), "deleting snapshot " + volume + "@"
        + snapshot).getDeleted();
    if (deleted == 0) {
      throw new VolumeNotFoundException("no snapshot '" + volume + "@" + snapshot + "'");
    }
  }

  @Override
  public Head restoreSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = existing(volume);
      long id = f.info().id();
      FoundSnapshot s = existingSnapshot(f, snapshot);
      Head h = head(id);
      String headKey = layout.headKey(id);
      String lockKey = layout.lockKey(id);
      TxnResponse r = await(kv.txn()
          .If(absent(lockKey), modRevision(headKey, h.revision()),
              modRevision(s.key(), s.revision()))
          .Then(put(headKey,
              EtcdLayout.encodeHead(s.snap().root(), h.generation(), h.reserved())))
          .Else(Op.get(bytes(lockKey), GetOption.DEFAULT))
          .commit(), "restoring " + volume + "@" + snapshot);
      if (r.isSucceeded()) {
        return new Head(id, s.snap().root(), h.generation(), r.getHeader().getRevision(),
            h.reserved());
      }
      KeyValue lock = first(r.getGetResponses().get(0));
      if (lock != null) {
        throw new VolumeLockedException(volume, EtcdLayout.decodeLock(lockKey, str(lock))
            .holder());
      }
    }
    throw contention("restoring " + volume + "@" + snapshot);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot) {
    VolumeSpec.checkName(name);
    Snapshot.checkName(snapshot);
    checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found src = existing(sourceVolume);
      FoundSnapshot s = existingSnapshot(src, snapshot);
      VolumeSpec spec = new VolumeSpec(name, s.snap().size(), src.info().blockSize(),
          src.info().replication());
      CloneOrigin origin = new CloneOrigin(src.info().id(), sourceVolume, snapshot);
      VolumeInfo v = create(spec, origin, s.snap().root(), s.snap().generation(),
          modRevision(s.key(), s.revision()));
      if (v != null) {
        return v;
      }
    }
    throw contention("cloning " + sourceVolume + "@" + snapshot + " as " + name);
  }

  @Override
  public Optional<CloneOrigin> cloneOrigin(String volume) {
    checkOpen();
    return Optional.ofNullable(existing(volume).origin());
  }

  @Override
  public LiveRoots liveRoots() {
    checkOpen();
    GetResponse r = await(kv.get(bytes(layout.volumesPrefix()),
        GetOption.builder().isPrefix(true).build()), "reading every volume's roots");
    Map<Long, VolumeInfo> infos = new TreeMap<>();
    Map<Long, KeyValue> heads = new TreeMap<>();
    Map<Long, List<KeyValue>> snaps = new TreeMap<>();
    for (KeyValue e : r.getKvs()) {
      String key = str(e.getKey());
      long id = layout.volumeIdOf(key);
      if (layout.isInfoKey(key)) {
        infos.put(id, info(key, str(e)));
      } else if (layout.isHeadKey(key)) {
        heads.put(id, e);
      } else if (layout.isSnapshotKey(key)) {
        snaps.computeIfAbsent(id, k -> new ArrayList<>()).add(e);
      } else if (!key.equals(layout.lockKey(id))) {
        throw corrupt(key, str(e), "unknown key under " + layout.volumesPrefix()
            + "; refusing to list live roots without understanding it");
      }
    }
    List<LiveRoot> roots = new ArrayList<>();
    for (Map.Entry<Long, VolumeInfo> e : infos.entrySet()) {
      long id = e.getKey();
      String name = e.getValue().name();
      KeyValue h = heads.remove(id);
      if (h == null) {
        throw new TorusException(ErrorCode.EIO, "volume " + name + " (id " + id + ") has no"
            + " head key " + layout.headKey(id) + "; refusing to list live roots");
      }
      HeadValue hv = EtcdLayout.decodeHead(layout.headKey(id), str(h));
      roots.add(new LiveRoot(id, name, null, hv.root(), hv.generation()));
      List<Snapshot> list = new ArrayList<>();
      for (KeyValue s : snaps.getOrDefault(id, List.of())) {
        list.add(decodeSnapshot(str(s.getKey()), str(s), id, name));
      }
      snaps.remove(id);
      list.sort(Comparator.comparing(Snapshot::name));
      for (Snapshot s : list) {
        roots.add(new LiveRoot(id, name, s.name(), s.root(), s.generation()));
      }
    }
    if (!heads.isEmpty() || !snaps.isEmpty()) {
      long id = !heads.isEmpty() ? heads.keySet().iterator().next()
          : snaps.keySet().iterator().next();
      throw new TorusException(ErrorCode.EIO, "keys under " + layout.volumePrefix(id)
          + " without an info key " + layout.infoKey(id) + "; refusing to list live roots");
    }
    return new LiveRoots(r.getHeader().getRevision(), roots);
  }

  private Snapshot decodeSnapshot(String key, String value, long id, String volume) {
    String rest = key.substring(layout.snapshotsPrefix(id).length());
    String name = rest.substring(0, rest.length() - "/record".length());
    return EtcdLayout.decodeSnapshot(key, value, id, name, volume);
  }

  /** A snapshot record with its key and the key's mod revision. */
  private record FoundSnapshot(Snapshot snap, String key, long revision) {}

  private FoundSnapshot findSnapshot(Found f, String snapshot) {
    long id = f.info().id();
    String key = layout.snapshotKey(id, snapshot);
    KeyValue kv = first(get(key, "reading snapshot " + f.info().name() + "@" + snapshot));
    return kv == null ? null : new FoundSnapshot(EtcdLayout.decodeSnapshot(key, str(kv), id,
        snapshot, f.info().name()), key, kv.getModRevision());
  }

  private FoundSnapshot existingSnapshot(Found f, String snapshot) {
    FoundSnapshot s = findSnapshot(f, snapshot);
    if (s == null) {
      throw new VolumeNotFoundException("no snapshot '" + f.info().name() + "@" + snapshot
          + "'");
    }
    return s;
  }

  private Found existing(String volume) {
    VolumeSpec.checkName(volume);
    Found f = find(volume);
    if (f == null) {
      throw new VolumeNotFoundException("no volume named '" + volume + "'");
    }
    return f;
  }

  @Override
  public void addSessionListener(SessionListener listener) {
    session.addListener(Objects.requireNonNull(listener, "listener"));
  }

  @Override
  public synchronized PeerRegistry peers() {
    checkOpen();
    if (peers == null) {
      peers = new EtcdPeerRegistry(this);
    }
    return peers;
  }

  @Override
  public RebalanceStore rebalance() {
    checkOpen();
    return rebalance;
  }

  @Override
  public RingStore ring() {
    checkOpen();
    return ring;
  }

  private volatile EtcdPeerAuthority authority;

  /** The cluster token (created on first use if the cluster has none) and epoch checks. */
  @Override
  public PeerAuthority authority() {
    EtcdPeerAuthority a = authority;
    if (a == null) {
      synchronized (this) {
        a = authority;
        if (a == null) {
          a = EtcdPeerAuthority.open(this);
          authority = a;
        }
      }
    }
    return a;
  }

  @Override
  public ClusterDefaultsStore defaults() {
    checkOpen();
    return new EtcdClusterDefaults(this);
  }

  @Override
  public LeaderElection election(String name, String candidate) {
    checkOpen();
    EtcdLeaderElection e = new EtcdLeaderElection(this, name, candidate);
    elections.add(e);
    return e;
  }

  EtcdLayout layout() {
    return layout;
  }

  Client client() {
    return client;
  }

  KV kv() {
    return kv;
  }

  EtcdSession session() {
    return session;
  }

  /** The layout's base key ({@code <root>/v1/}); everything this service stores is under it. */
  public String keyPrefix() {
    return layout.base();
  }

  /** The current lease id, for diagnostics; throws EIO while the session is lost. */
  public long leaseId() {
    return session.leaseId();
  }

  @Override
  public void close() {
    if (closed) {
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
    closed = true;
    held.clear();
    try {
      long left = shutdownDeadline - System.nanoTime();
      session.close(shutdownDeadline == Long.MAX_VALUE ? options.requestTimeout()
          : Duration.ofNanos(Math.max(0, Math.min(left, options.requestTimeout().toNanos()))));
    } finally {
      client.close();
    }
  }

  @Override
  public String toString() {
    return "EtcdMetadataService[" + options.endpoints() + " " + layout.base() + "]";
  }

  // ---- helpers ----

  /** A volume found by name, with the revision of its info key. */
  private record Found(VolumeInfo info, long infoRevision, CloneOrigin origin) {}

  private Found find(String name) {
    String nameKey = layout.nameKey(name);
    KeyValue n = first(get(nameKey, "reading volume " + name));
    if (n == null) {
      return null;
    }
    long id = EtcdLayout.decodeId(nameKey, str(n));
    String infoKey = layout.infoKey(id);
    KeyValue i = first(get(infoKey, "reading volume " + name));
    if (i == null) {
      return null;
    }
    VolumeInfo v = info(infoKey, str(i));
    if (v.id() != id || !v.name().equals(name)) {
      throw corrupt(infoKey, str(i), "does not belong to volume '" + name + "' (id " + id
          + ") that " + nameKey + " points to");
    }
    return new Found(v, i.getModRevision(), EtcdLayout.decodeInfo(infoKey, str(i)).origin());
  }

  private String nameOf(long volumeId) {
    String key = layout.infoKey(volumeId);
    KeyValue i = first(get(key, "reading volume " + volumeId));
    return i == null ? "#" + volumeId : info(key, str(i)).name();
  }

  private VolumeInfo info(String key, String value) {
    Info i = EtcdLayout.decodeInfo(key, value);
    if (!key.equals(layout.infoKey(i.id()))) {
      throw corrupt(key, value, "names volume id " + i.id());
    }
    VolumeSpec s = i.spec();
    return new VolumeInfo(i.id(), s.name(), s.size(), s.blockSize(), s.replication(),
        i.created());
  }

  private GetResponse get(String key, String what) {
    return await(kv.get(bytes(key)), what);
  }

  static KeyValue first(GetResponse r) {
    return r.getKvs().isEmpty() ? null : r.getKvs().get(0);
  }

  static Cmp absent(String key) {
    return new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.createRevision(0));
  }

  static Cmp modRevision(String key, long rev) {
    return new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(rev));
  }

  static Op put(String key, String value) {
    return Op.put(bytes(key), bytes(value), PutOption.DEFAULT);
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  static String str(ByteSequence b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  static String str(KeyValue kv) {
    return str(kv.getValue());
  }

  /**
   * Bounds every etcd call from now on, those already waiting included, by {@code budget}
   * from now: a node that shuts down while etcd is unreachable stops within it instead of
   * waiting a request timeout per clean-up step. Calls past it fail as unreachable (what they
   * would have cleaned up expires with the node's lease).
   */
  public void shutdownWithin(Duration budget) {
    shutdownDeadline = System.nanoTime() + budget.toNanos();
  }

  private volatile long shutdownDeadline = Long.MAX_VALUE;
  /** How often a waiting call looks at the shutdown deadline. */
  private static final long DEADLINE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** Waits for an etcd call for at most the request timeout (or the shutdown budget). */
  <T> T await(CompletableFuture<T> f, String what) {
    long end = System.nanoTime() + options.requestTimeout().toNanos();
    try {
      while (true) {
        long now = System.nanoTime();
        long stop = Math.min(end, shutdownDeadline);
        if (now - stop >= 0) {
          throw new TimeoutException();
        }
        try {
          return f.get(Math.min(stop - now, DEADLINE_POLL_NANOS), TimeUnit.NANOSECONDS);
        } catch (TimeoutException again) {
          // look at the deadlines again
        }
      }
    } catch (TimeoutException e) {
      f.cancel(true);
      throw unreachable(what);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      throw new TorusException(ErrorCode.EIO, "etcd " + options.endpoints() + " failed "
          + what + ": " + c, c, true);
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted while " + what, e);
    }
  }

  TorusException unreachable(String what) {
    String tls = options.trustedCa() == null && options.clientCertificate() == null ? ""
        : " (over TLS: a certificate etcd or this node does not accept looks like this too;"
        + " check the CA, certificate and key files)";
    String within = System.nanoTime() - shutdownDeadline >= 0 ? "the shutdown budget"
        : options.requestTimeout().toString();
    return new TorusException(ErrorCode.EIO, "etcd " + options.endpoints()
        + " did not answer within " + within + " while " + what + tls, null, true);
  }

  private static TorusException contention(String what) {
    return new TorusException(ErrorCode.EIO, "gave up " + what + " after " + MAX_CAS_ATTEMPTS
        + " lost compare-and-swap races", null, true);
  }

  void checkOpen() {
    if (closed) {
      throw new TorusClosedException(this + " is closed");
    }
  }
}
