package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.contention;
import static io.torus.internal.meta.etcd.EtcdKv.createRevision;
import static io.torus.internal.meta.etcd.EtcdKv.deleteOp;
import static io.torus.internal.meta.etcd.EtcdKv.deletePrefixOp;
import static io.torus.internal.meta.etcd.EtcdKv.first;
import static io.torus.internal.meta.etcd.EtcdKv.getOp;
import static io.torus.internal.meta.etcd.EtcdKv.key;
import static io.torus.internal.meta.etcd.EtcdKv.modRevision;
import static io.torus.internal.meta.etcd.EtcdKv.neverWritten;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.putUnder;
import static io.torus.internal.meta.etcd.EtcdKv.str;
import static io.torus.internal.meta.etcd.EtcdLayout.corrupt;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.torus.ConcurrentUpdateException;
import io.torus.LeaseLostException;
import io.torus.Page;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.ErasureRules;
import io.torus.internal.meta.LockRules;
import io.torus.internal.meta.etcd.EtcdLayout.HeadValue;
import io.torus.internal.meta.etcd.EtcdLayout.Info;
import io.torus.spi.BlockRef;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Volumes, their heads and their writer locks in etcd ({@code counters/volume-id},
 * {@code names/NAME/id}, {@code volumes/ID/info|head|lock}; see {@link EtcdLayout}).
 *
 * <p>Invariants: volume creation, id allocation, head commits and locks are single etcd
 * transactions with compare-and-swap guards. A lock's epoch is the lock key's create
 * revision; a commit compares it and the head key's mod revision in one transaction, so a
 * writer whose lease expired, or whose lock was replaced, can never move the head.
 *
 * <p>Concurrency: thread-safe; calls block the caller for at most the request timeout per
 * etcd round trip (a compare-and-swap that loses a race retries a bounded number of times).
 * The locks taken here are remembered with their lease in a concurrent map, forgotten when
 * the session is lost.
 *
 * <p>Failure: see {@link EtcdMetadataService}. A commit that timed out may have been
 * applied: repeating it with the same arguments is safe (it is recognised as already
 * applied).
 */
final class EtcdVolumes {
  /** Compare-and-swap attempts before a change gives up (EIO, retryable). */
  static final int MAX_CAS_ATTEMPTS = 500;

  private final EtcdKv kv;
  private final EtcdLayout layout;
  private final EtcdSession session;
  private final Clock clock;
  /** Locks taken through this service: epoch to the lease they were taken under. */
  private final Map<Long, Long> held = new ConcurrentHashMap<>();

  EtcdVolumes(EtcdKv kv, EtcdSession session, Clock clock) {
    this.kv = kv;
    this.layout = kv.layout();
    this.session = session;
    this.clock = clock;
    session.addListener(cause -> held.clear());
  }

  VolumeInfo createVolume(VolumeSpec spec) {
    Objects.requireNonNull(spec, "spec");
    kv.checkOpen();
    return create(spec, null, null, 0, null);
  }

  /**
   * Creates a volume whose first head is {@code root}/{@code generation}; {@code guard}, if
   * not null, must hold too (else the creation is retried from scratch by the caller: this
   * returns null).
   */
  VolumeInfo create(VolumeSpec spec, CloneOrigin origin, BlockRef root, long generation,
      Cmp guard) {
    String nameKey = layout.nameKey(spec.name());
    String counterKey = layout.volumeIdCounter();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue counter = kv.get(counterKey, "reading the volume id counter");
      long last = counter == null ? 0 : EtcdLayout.decodeCounter(counterKey, str(counter));
      long id = last + 1;
      Cmp counterUnchanged = counter == null ? neverWritten(counterKey)
          : modRevision(counterKey, counter.getModRevision());
      Instant created = clock.instant();
      List<Cmp> cmps = new ArrayList<>(List.of(counterUnchanged, absent(nameKey)));
      if (guard != null) {
        cmps.add(guard);
      }
      TxnResponse r = kv.await(kv.txn()
          .If(cmps.toArray(new Cmp[0]))
          .Then(put(counterKey, EtcdLayout.encodeCounter(id)),
              put(nameKey, EtcdLayout.encodeId(id)),
              put(layout.infoKey(id), EtcdLayout.encodeInfo(id, spec, created, origin)),
              put(layout.headKey(id), EtcdLayout.encodeHead(root, generation, generation)))
          .Else(getOp(nameKey))
          .commit(), "creating volume " + spec.name());
      if (r.isSucceeded()) {
        return new VolumeInfo(id, spec.name(), spec.size(), spec.blockSize(),
            spec.replication(), created, spec.encryption(), spec.erasure(), spec.qos());
      }
      if (first(r.getGetResponses().get(0)) != null) {
        throw new VolumeExistsException("volume '" + spec.name() + "' already exists");
      }
      if (guard != null) {
        return null;
      }
    }
    throw contention("creating volume " + spec.name(), MAX_CAS_ATTEMPTS);
  }

  Optional<VolumeInfo> volume(String name) {
    VolumeSpec.checkName(name);
    kv.checkOpen();
    return Optional.ofNullable(find(name)).map(Found::info);
  }

  List<VolumeInfo> volumes() {
    kv.checkOpen();
    EtcdKv.Listing r = kv.getPrefix(layout.volumesPrefix(), "listing volumes");
    List<VolumeInfo> out = new ArrayList<>();
    for (KeyValue e : r.kvs()) {
      String key = key(e);
      if (layout.isInfoKey(key)) {
        out.add(info(key, str(e)));
      }
    }
    out.sort(Comparator.comparing(VolumeInfo::name));
    return out;
  }

  /**
   * A page of the volumes in name order: the {@code names/} keys of the page (see
   * {@link NamePager}), then their info keys, all at one revision. A name whose info is
   * missing is left out, as {@link #find} does.
   */
  Page<VolumeInfo> volumes(String after, int limit) {
    Page.checkLimit(limit);
    if (after != null) {
      VolumeSpec.checkName(after);
    }
    kv.checkOpen();
    String what = "listing volumes";
    NamePager.NamePage page = NamePager.read(kv.pages(what), layout.namesPrefix(), after,
        limit, 1, 0);
    List<String> names = new ArrayList<>();
    List<String> infoKeys = new ArrayList<>();
    for (NamePager.Group g : page.groups()) {
      String nameKey = layout.namesPrefix() + g.name() + "/id";
      for (NamePager.Entry e : g.entries()) {
        if (e.key().equals(nameKey)) {
          names.add(g.name());
          infoKeys.add(layout.infoKey(EtcdLayout.decodeId(nameKey, e.value())));
        }
      }
    }
    List<io.etcd.jetcd.kv.GetResponse> infos = kv.getAll(infoKeys, false, page.revision(),
        what);
    List<VolumeInfo> out = new ArrayList<>(names.size());
    for (int i = 0; i < names.size(); i++) {
      KeyValue e = first(infos.get(i));
      if (e == null) {
        continue;
      }
      VolumeInfo v = info(infoKeys.get(i), str(e));
      if (!v.name().equals(names.get(i))) {
        throw corrupt(infoKeys.get(i), str(e), "does not belong to volume '" + names.get(i)
            + "' that " + layout.namesPrefix() + names.get(i) + "/id points to");
      }
      out.add(v);
    }
    return new Page<>(out, page.next());
  }

  VolumeInfo setVolumeReplication(String name, int replication) {
    VolumeSpec.checkName(name);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = find(name);
      if (f == null) {
        throw new VolumeNotFoundException("no volume named '" + name + "'");
      }
      VolumeInfo v = f.info();
      ErasureRules.checkReplicationChange(v);
      VolumeSpec spec = new VolumeSpec(name, v.size(), v.blockSize(), replication,
          v.encryption(), v.erasure(), v.qos());
      if (replication == v.replication()) {
        return v;
      }
      if (replaceInfo(f, spec, "changing the replication of volume " + name)) {
        return v.with(v.size(), replication);
      }
    }
    throw contention("changing the replication of volume " + name, MAX_CAS_ATTEMPTS);
  }

  VolumeInfo resizeVolume(String name, long newSize) {
    VolumeSpec.checkName(name);
    VolumeSpec.checkSize(newSize);
    kv.checkOpen();
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
      VolumeSpec spec = new VolumeSpec(name, newSize, v.blockSize(), v.replication(),
          v.encryption(), v.erasure(), v.qos());
      if (replaceInfo(f, spec, "resizing volume " + name)) {
        return v.with(newSize, v.replication());
      }
    }
    throw contention("resizing volume " + name, MAX_CAS_ATTEMPTS);
  }

  VolumeInfo setVolumeKeys(String name, VolumeKeys expected, VolumeKeys replacement) {
    VolumeSpec.checkName(name);
    kv.checkOpen();
    Found f = existing(name);
    VolumeInfo v = f.info();
    io.torus.internal.meta.KeyRules.checkRekey(v, expected, replacement);
    VolumeSpec spec = new VolumeSpec(name, v.size(), v.blockSize(), v.replication(),
        replacement, v.erasure(), v.qos());
    if (!replaceInfo(f, spec, "replacing the keys of volume " + name)) {
      throw new ConcurrentUpdateException("volume '" + name + "' changed while its keys were"
          + " replaced; read them again");
    }
    return new VolumeInfo(v.id(), name, v.size(), v.blockSize(), v.replication(), v.created(),
        replacement, v.erasure(), v.qos());
  }

  VolumeInfo setVolumeQos(String name, io.torus.VolumeQos qos) {
    VolumeSpec.checkName(name);
    Objects.requireNonNull(qos, "qos");
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = existing(name);
      VolumeInfo v = f.info();
      if (qos.equals(v.qos())) {
        return v;
      }
      VolumeSpec spec = new VolumeSpec(name, v.size(), v.blockSize(), v.replication(),
          v.encryption(), v.erasure(), qos);
      if (replaceInfo(f, spec, "setting the I/O limits of volume " + name)) {
        return v.withQos(qos);
      }
    }
    throw contention("setting the I/O limits of volume " + name, MAX_CAS_ATTEMPTS);
  }

  /** Writes {@code spec} into the info key of {@code f} if it is unchanged since read. */
  private boolean replaceInfo(Found f, VolumeSpec spec, String what) {
    VolumeInfo v = f.info();
    String infoKey = layout.infoKey(v.id());
    return kv.await(kv.txn()
        .If(modRevision(infoKey, f.infoRevision()))
        .Then(put(infoKey, EtcdLayout.encodeInfo(v.id(), spec, v.created(), f.origin())))
        .commit(), what).isSucceeded();
  }

  void deleteVolume(String name) {
    String nameKey = layout.nameKey(name);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue n = kv.get(nameKey, "reading volume " + name);
      if (n == null) {
        throw new VolumeNotFoundException("no volume named '" + name + "'");
      }
      long id = EtcdLayout.decodeId(nameKey, str(n));
      String lockKey = layout.lockKey(id);
      TxnResponse r = kv.await(kv.txn()
          .If(modRevision(nameKey, n.getModRevision()), absent(lockKey))
          .Then(deleteOp(nameKey), deletePrefixOp(layout.volumePrefix(id)))
          .Else(getOp(lockKey))
          .commit(), "deleting volume " + name);
      if (r.isSucceeded()) {
        return;
      }
      KeyValue lock = first(r.getGetResponses().get(0));
      if (lock != null) {
        throw new VolumeLockedException(name, EtcdLayout.decodeLock(lockKey, str(lock)).holder());
      }
    }
    throw contention("deleting volume " + name, MAX_CAS_ATTEMPTS);
  }

  Head head(long volumeId) {
    kv.checkOpen();
    String key = layout.headKey(volumeId);
    KeyValue h = kv.get(key, "reading the head of volume " + volumeId);
    if (h == null) {
      throw new VolumeNotFoundException("no volume with id " + volumeId);
    }
    HeadValue v = EtcdLayout.decodeHead(key, str(h));
    return new Head(volumeId, v.root(), v.generation(), h.getModRevision(), v.reserved());
  }

  VolumeLock lockVolume(long volumeId, String holder) {
    LockRules.checkHolder(holder);
    kv.checkOpen();
    String lockKey = layout.lockKey(volumeId);
    String headKey = layout.headKey(volumeId);
    String journalKey = layout.journalKey(volumeId);
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      long lease = session.leaseId();
      Head h = head(volumeId);
      KeyValue journal = kv.get(journalKey, "reading the journal record of volume " + volumeId);
      long gen = LockRules.lockedGeneration(h);
      long reserved = gen + Head.RESERVATION;
      // With a journal recorded, its entries' blocks lie above the stored generation: it stays
      // (garbage collection keeps them pending) until the new writer commits what it replays.
      long stored = journal == null ? gen : h.generation();
      TxnResponse r = kv.await(kv.txn()
          .If(absent(lockKey), modRevision(headKey, h.revision()),
              journal == null ? absent(journalKey)
                  : modRevision(journalKey, journal.getModRevision()))
          .Then(putUnder(lockKey, EtcdLayout.encodeLock(lease, holder), lease),
              put(headKey, EtcdLayout.encodeHead(h.root(), stored, reserved)))
          .Else(getOp(lockKey))
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
    throw contention("locking volume " + volumeId, MAX_CAS_ATTEMPTS);
  }

  Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    Objects.requireNonNull(lock, "lock");
    Objects.requireNonNull(expected, "expected");
    LockRules.checkCommit(lock, expected, root, generation);
    kv.checkOpen();
    long id = lock.volumeId();
    Long lease = held.get(lock.epoch());
    if (lease == null || !session.isLive(lease)) {
      throw new LeaseLostException("lock of volume " + id + " with epoch " + lock.epoch()
          + (lease == null ? " is not held by this node" : " was taken under a lost lease"));
    }
    String lockKey = layout.lockKey(id);
    String headKey = layout.headKey(id);
    long reserved = LockRules.committedReservation(expected, generation);
    String value = EtcdLayout.encodeHead(root, generation, reserved);
    TxnResponse r = kv.await(kv.txn()
        .If(createRevision(lockKey, lock.epoch()), modRevision(headKey, expected.revision()))
        .Then(put(headKey, value))
        .Else(getOp(lockKey), getOp(headKey))
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

  /** The peers of the volume's flush journal record, empty if it has none. */
  List<String> journal(long volumeId) {
    kv.checkOpen();
    String key = layout.journalKey(volumeId);
    KeyValue j = kv.get(key, "reading the journal record of volume " + volumeId);
    return j == null ? List.of() : EtcdLayout.decodeJournal(key, str(j));
  }

  /** Records (or, with no peers, removes) the journal record, if {@code lock} is still held. */
  void setJournal(VolumeLock lock, List<String> peers) {
    Objects.requireNonNull(lock, "lock");
    kv.checkOpen();
    long id = lock.volumeId();
    String lockKey = layout.lockKey(id);
    String journalKey = layout.journalKey(id);
    TxnResponse r = kv.await(kv.txn()
        .If(createRevision(lockKey, lock.epoch()))
        .Then(peers.isEmpty() ? deleteOp(journalKey)
            : put(journalKey, EtcdLayout.encodeJournal(peers, lock.epoch())))
        .commit(), "recording the journal of volume " + id);
    if (!r.isSucceeded()) {
      held.remove(lock.epoch());
      throw new LeaseLostException("lock of volume " + id + " with epoch " + lock.epoch()
          + " is no longer held");
    }
  }

  void checkLock(VolumeLock lock) {
    Long lease = held.get(lock.epoch());
    if (lease == null || !session.isSurelyLive(lease)) {
      throw new LeaseLostException("lock of volume " + lock.volumeId() + " with epoch "
          + lock.epoch() + (lease == null ? " is not held by this node"
          : " may have expired: its lease was not renewed within its TTL"));
    }
  }

  void unlock(VolumeLock lock) {
    Objects.requireNonNull(lock, "lock");
    kv.checkOpen();
    held.remove(lock.epoch());
    String lockKey = layout.lockKey(lock.volumeId());
    kv.await(kv.txn()
        .If(createRevision(lockKey, lock.epoch()))
        .Then(deleteOp(lockKey))
        .commit(), "unlocking volume " + lock.volumeId());
  }

  /** Forgets every lock taken here (the service is closing). */
  void forgetLocks() {
    held.clear();
  }

  /** A volume found by name, with the revision of its info key. */
  record Found(VolumeInfo info, long infoRevision, CloneOrigin origin) {}

  /** The volume named {@code name} and its info key's revision, or null. */
  Found find(String name) {
    String nameKey = layout.nameKey(name);
    KeyValue n = kv.get(nameKey, "reading volume " + name);
    if (n == null) {
      return null;
    }
    long id = EtcdLayout.decodeId(nameKey, str(n));
    String infoKey = layout.infoKey(id);
    KeyValue i = kv.get(infoKey, "reading volume " + name);
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

  /** Like {@link #find}, but a missing volume is {@link VolumeNotFoundException}. */
  Found existing(String volume) {
    VolumeSpec.checkName(volume);
    Found f = find(volume);
    if (f == null) {
      throw new VolumeNotFoundException("no volume named '" + volume + "'");
    }
    return f;
  }

  private String nameOf(long volumeId) {
    String key = layout.infoKey(volumeId);
    KeyValue i = kv.get(key, "reading volume " + volumeId);
    return i == null ? "#" + volumeId : info(key, str(i)).name();
  }

  /** Decodes the info value stored under {@code key}; it must be that volume's info key. */
  VolumeInfo info(String key, String value) {
    Info i = EtcdLayout.decodeInfo(key, value);
    if (!key.equals(layout.infoKey(i.id()))) {
      throw corrupt(key, value, "names volume id " + i.id());
    }
    VolumeSpec s = i.spec();
    return new VolumeInfo(i.id(), s.name(), s.size(), s.blockSize(), s.replication(),
        i.created(), s.encryption(), s.erasure(), s.qos());
  }
}
