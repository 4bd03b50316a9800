package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;

/**
 * Hash modulo the member count: a ref's first peer is member
 * {@code unsigned(Hash64.ref(ref)) mod N} (members sorted by id), then the following members
 * in order, wrapping. Weights are ignored. Almost every block moves when N changes; meant
 * for tests and fixed clusters. Immutable and thread-safe.
 */
public final class ModuloRing implements Ring {
  private final long version;
  private final List<RingPeer> members;

  /** @param peers the members (stored sorted by id), distinct, at least one */
  public ModuloRing(long version, List<RingPeer> peers) {
    this.version = version;
    this.members = Members.canonical(peers);
  }

  @Override
  public RingType type() {
    return RingType.MODULO;
  }

  @Override
  public long version() {
    return version;
  }

  @Override
  public List<RingPeer> members() {
    return members;
  }

  @Override
  public List<String> peers(BlockRef ref, int n) {
    if (ref.striped()) {
      return StripePlacement.peers(this, ref, Members.checkCount(n));
    }
    int size = members.size();
    int want = Math.min(Members.checkCount(n), size);
    int start = (int) Long.remainderUnsigned(Hash64.ref(ref), size);
    List<String> out = new ArrayList<>(want);
    for (int i = 0; i < want; i++) {
      out.add(members.get((start + i) % size).id());
    }
    return out;
  }

  @Override
  public Ring withVersion(long newVersion) {
    return new ModuloRing(newVersion, members);
  }

  @Override
  public String toString() {
    return "ModuloRing[v" + version + ", " + members.size() + " peers]";
  }
}
