package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.contention;
import static io.torus.internal.meta.etcd.EtcdKv.first;
import static io.torus.internal.meta.etcd.EtcdKv.getOp;
import static io.torus.internal.meta.etcd.EtcdKv.key;
import static io.torus.internal.meta.etcd.EtcdKv.modRevision;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.str;
import static io.torus.internal.meta.etcd.EtcdLayout.corrupt;
import static io.torus.internal.meta.etcd.EtcdVolumes.MAX_CAS_ATTEMPTS;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.torus.ErrorCode;
import io.torus.Page;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.etcd.EtcdLayout.HeadValue;
import io.torus.internal.meta.etcd.EtcdVolumes.Found;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.LiveRoots.LiveRoot;
import io.torus.spi.Snapshot;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Snapshots, restores, clones and the live roots of every volume in etcd (the
 * {@code volumes/ID/snapshots/SNAP/record} keys beside the volumes' heads; see
 * {@link EtcdLayout}).
 *
 * <p>Invariants: a snapshot is taken from the head it read (the transaction compares the
 * head key's mod revision); a restore compares the snapshot record, the head and the absence
 * of a writer lock; a clone is created only while the snapshot it starts from is unchanged.
 * Live roots are read in one etcd read, so they are one consistent revision.
 *
 * <p>Concurrency: thread-safe (stateless over the client); calls block the caller for at
 * most the request timeout per etcd round trip, and lost races are retried a bounded number
 * of times.
 *
 * <p>Failure: see {@link EtcdMetadataService}. A key under {@code volumes/} that is not
 * understood makes {@link #liveRoots} fail (EIO) rather than under-report what is live.
 */
final class EtcdSnapshots {
  private final EtcdKv kv;
  private final EtcdLayout layout;
  private final EtcdVolumes volumes;
  private final Clock clock;

  EtcdSnapshots(EtcdKv kv, EtcdVolumes volumes, Clock clock) {
    this.kv = kv;
    this.layout = kv.layout();
    this.volumes = volumes;
    this.clock = clock;
  }

  Snapshot createSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = volumes.existing(volume);
      long id = f.info().id();
      String headKey = layout.headKey(id);
      String snapKey = layout.snapshotKey(id, snapshot);
      KeyValue h = kv.get(headKey, "reading the head of volume " + volume);
      if (h == null) {
        continue; // deleted meanwhile: find() decides on the next round
      }
      HeadValue head = EtcdLayout.decodeHead(headKey, str(h));
      Snapshot snap = new Snapshot(id, volume, snapshot, head.root(), head.generation(),
          f.info().size(), clock.instant());
      TxnResponse r = kv.await(kv.txn()
          .If(modRevision(headKey, h.getModRevision()), absent(snapKey))
          .Then(put(snapKey, EtcdLayout.encodeSnapshot(snap)))
          .Else(getOp(snapKey))
          .commit(), "creating snapshot " + volume + "@" + snapshot);
      if (r.isSucceeded()) {
        return snap;
      }
      if (first(r.getGetResponses().get(0)) != null) {
        throw new VolumeExistsException("snapshot '" + volume + "@" + snapshot
            + "' already exists");
      }
    }
    throw contention("creating snapshot " + volume + "@" + snapshot, MAX_CAS_ATTEMPTS);
  }

  List<Snapshot> snapshots(String volume) {
    kv.checkOpen();
    Found f = volumes.existing(volume);
    long id = f.info().id();
    EtcdKv.Listing r = kv.getPrefix(layout.snapshotsPrefix(id), "listing snapshots of " + volume);
    List<Snapshot> out = new ArrayList<>();
    for (KeyValue e : r.kvs()) {
      String key = key(e);
      if (!layout.isSnapshotKey(key)) {
        throw corrupt(key, str(e), "unexpected key among the snapshots of volume " + id);
      }
      out.add(decodeSnapshot(key, str(e), id, volume));
    }
    out.sort(Comparator.comparing(Snapshot::name));
    return out;
  }

  /**
   * A page of the volume's snapshots in name order (see {@link NamePager}); the volume is
   * looked up at the revision the page is read at.
   */
  Page<Snapshot> snapshots(String volume, String after, int limit) {
    VolumeSpec.checkName(volume);
    Page.checkLimit(limit);
    if (after != null) {
      Snapshot.checkName(after);
    }
    kv.checkOpen();
    String what = "listing snapshots of " + volume;
    String nameKey = layout.nameKey(volume);
    GetResponse named = kv.read(nameKey, what);
    long revision = named.getHeader().getRevision();
    KeyValue n = first(named);
    long id = n == null ? 0 : EtcdLayout.decodeId(nameKey, str(n));
    if (n == null
        || first(kv.getAll(List.of(layout.infoKey(id)), false, revision, what).get(0)) == null) {
      throw new VolumeNotFoundException("no volume named '" + volume + "'");
    }
    NamePager.NamePage page = NamePager.read(kv.pages(what), layout.snapshotsPrefix(id),
        after, limit, 1, revision);
    List<Snapshot> out = new ArrayList<>(page.groups().size());
    for (NamePager.Group g : page.groups()) {
      for (NamePager.Entry e : g.entries()) {
        if (!layout.isSnapshotKey(e.key())) {
          throw corrupt(e.key(), e.value(), "unexpected key among the snapshots of volume "
              + id);
        }
        out.add(decodeSnapshot(e.key(), e.value(), id, volume));
      }
    }
    return new Page<>(out, page.next());
  }

  Optional<Snapshot> snapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    kv.checkOpen();
    return Optional.ofNullable(findSnapshot(volumes.existing(volume), snapshot))
        .map(FoundSnapshot::snap);
  }

  void deleteSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    kv.checkOpen();
    Found f = volumes.existing(volume);
    String snapKey = layout.snapshotKey(f.info().id(), snapshot);
    if (!kv.delete(snapKey, "deleting snapshot " + volume + "@" + snapshot)) {
      throw new VolumeNotFoundException("no snapshot '" + volume + "@" + snapshot + "'");
    }
  }

  Head restoreSnapshot(String volume, String snapshot) {
    Snapshot.checkName(snapshot);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found f = volumes.existing(volume);
      long id = f.info().id();
      FoundSnapshot s = existingSnapshot(f, snapshot);
      Head h = volumes.head(id);
      String headKey = layout.headKey(id);
      String lockKey = layout.lockKey(id);
      TxnResponse r = kv.await(kv.txn()
          .If(absent(lockKey), modRevision(headKey, h.revision()),
              modRevision(s.key(), s.revision()))
          .Then(put(headKey,
              EtcdLayout.encodeHead(s.snap().root(), h.generation(), h.reserved())))
          .Else(getOp(lockKey))
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
    throw contention("restoring " + volume + "@" + snapshot, MAX_CAS_ATTEMPTS);
  }

  VolumeInfo createClone(String name, String sourceVolume, String snapshot, VolumeKeys keys) {
    VolumeSpec.checkName(name);
    Snapshot.checkName(snapshot);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      Found src = volumes.existing(sourceVolume);
      FoundSnapshot s = existingSnapshot(src, snapshot);
      VolumeSpec spec = new VolumeSpec(name, s.snap().size(), src.info().blockSize(),
          src.info().replication(), io.torus.internal.meta.KeyRules.cloneKeys(src.info(), keys),
          src.info().erasure(), src.info().qos());
      CloneOrigin origin = new CloneOrigin(src.info().id(), sourceVolume, snapshot);
      VolumeInfo v = volumes.create(spec, origin, s.snap().root(), s.snap().generation(),
          modRevision(s.key(), s.revision()));
      if (v != null) {
        return v;
      }
    }
    throw contention("cloning " + sourceVolume + "@" + snapshot + " as " + name,
        MAX_CAS_ATTEMPTS);
  }

  Optional<CloneOrigin> cloneOrigin(String volume) {
    kv.checkOpen();
    return Optional.ofNullable(volumes.existing(volume).origin());
  }

  LiveRoots liveRoots() {
    kv.checkOpen();
    EtcdKv.Listing r = kv.getPrefix(layout.volumesPrefix(), "reading every volume's roots");
    Map<Long, VolumeInfo> infos = new TreeMap<>();
    Map<Long, KeyValue> heads = new TreeMap<>();
    Map<Long, List<KeyValue>> snaps = new TreeMap<>();
    for (KeyValue e : r.kvs()) {
      String key = key(e);
      long id = layout.volumeIdOf(key);
      if (layout.isInfoKey(key)) {
        infos.put(id, volumes.info(key, str(e)));
      } else if (layout.isHeadKey(key)) {
        heads.put(id, e);
      } else if (layout.isSnapshotKey(key)) {
        snaps.computeIfAbsent(id, k -> new ArrayList<>()).add(e);
      } else if (key.equals(layout.journalKey(id))) {
        // a flush journal's blocks lie above the head's generation: pending, so kept; the
        // record only has to be one this version understands
        EtcdLayout.decodeJournal(key, str(e));
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
        list.add(decodeSnapshot(key(s), str(s), id, name));
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
    return new LiveRoots(r.revision(), roots);
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
    KeyValue e = kv.get(key, "reading snapshot " + f.info().name() + "@" + snapshot);
    return e == null ? null : new FoundSnapshot(EtcdLayout.decodeSnapshot(key, str(e), id,
        snapshot, f.info().name()), key, e.getModRevision());
  }

  private FoundSnapshot existingSnapshot(Found f, String snapshot) {
    FoundSnapshot s = findSnapshot(f, snapshot);
    if (s == null) {
      throw new VolumeNotFoundException("no snapshot '" + f.info().name() + "@" + snapshot
          + "'");
    }
    return s;
  }
}
