package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import java.util.List;

/** Everything on one peer (replication is necessarily 1). Immutable and thread-safe. */
public final class SinglePeerRing implements Ring {
  private final long version;
  private final List<RingPeer> members;

  /** @param peer the only member */
  public SinglePeerRing(long version, RingPeer peer) {
    this.version = version;
    this.members = List.of(peer);
  }

  @Override
  public RingType type() {
    return RingType.SINGLE;
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
    Members.checkCount(n);
    return List.of(members.get(0).id());
  }

  @Override
  public Ring withVersion(long newVersion) {
    return new SinglePeerRing(newVersion, members.get(0));
  }

  @Override
  public String toString() {
    return "SinglePeerRing[v" + version + ", " + members.get(0).id() + "]";
  }
}
