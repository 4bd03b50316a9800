package io.torus.internal.meta.local;

import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.VersionedRing;
import java.util.Collections;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The whole persisted state of a {@link LocalMetadataService}: an immutable value, replaced as
 * a whole on every change.
 *
 * @param nextVolumeId the id the next created volume gets; ids are never reused
 * @param revision the last revision handed out; every head change and every lock takes the
 *     next one, so revisions (and lock epochs) only grow, also across restarts
 * @param volumes every volume by name (unmodifiable, sorted by name)
 * @param members the member records of the peers that share the service, by node id (the
 *     values they last registered; whether a peer is up is not persisted: after a restart
 *     every peer is down until it registers again)
 * @param ring the cluster's ring, or {@code null} before the first one
 */
record LocalState(long nextVolumeId, long revision, NavigableMap<String, VolumeRecord> volumes,
    NavigableMap<String, PeerInfo> members, VersionedRing ring) {

  /** The state of a fresh store. */
  static final LocalState EMPTY = new LocalState(1, 0, new TreeMap<>());

  LocalState {
    volumes = Collections.unmodifiableNavigableMap(new TreeMap<>(volumes));
    members = Collections.unmodifiableNavigableMap(new TreeMap<>(members));
  }

  /** A state without peers or ring. */
  LocalState(long nextVolumeId, long revision, NavigableMap<String, VolumeRecord> volumes) {
    this(nextVolumeId, revision, volumes, new TreeMap<>(), null);
  }

  /** The volume with this id, or {@code null}. */
  VolumeRecord byId(long id) {
    for (VolumeRecord v : volumes.values()) {
      if (v.id() == id) {
        return v;
      }
    }
    return null;
  }

  /** A copy with {@code v} added or replaced (by name) and the counters given. */
  LocalState with(VolumeRecord v, long newNextVolumeId, long newRevision) {
    TreeMap<String, VolumeRecord> m = new TreeMap<>(volumes);
    m.put(v.name(), v);
    return new LocalState(newNextVolumeId, newRevision, m, members, ring);
  }

  /**
   * A copy with {@code c} applied: its volume's head and reservation replaced, and the last
   * revision handed out set to its global revision. The volume must exist.
   */
  LocalState withHead(HeadChange c) {
    VolumeRecord v = byId(c.volumeId());
    return with(v.withHead(c.root(), c.generation(), c.revision(), c.reserved()), nextVolumeId,
        c.globalRevision());
  }

  /** A copy without the named volume. */
  LocalState without(String name) {
    TreeMap<String, VolumeRecord> m = new TreeMap<>(volumes);
    m.remove(name);
    return new LocalState(nextVolumeId, revision, m, members, ring);
  }

  /** A copy with these peer members and ring. */
  LocalState withCoordination(NavigableMap<String, PeerInfo> newMembers,
      VersionedRing newRing) {
    return new LocalState(nextVolumeId, revision, volumes, newMembers, newRing);
  }
}
