package io.torus.internal.node;

import io.torus.ClusterAdmin;
import io.torus.TorusException;
import java.util.List;
import java.util.Optional;

/**
 * {@link ClusterAdmin} of a local node: there are no peers, no ring, no replication reports
 * and no cluster defaults; what would change them is refused with EINVAL.
 */
final class LocalAdmin implements ClusterAdmin {
  private final java.util.function.Supplier<Capacity> capacity;

  /** @param capacity the node's {@link #capacity()} */
  LocalAdmin(java.util.function.Supplier<Capacity> capacity) {
    this.capacity = capacity;
  }

  @Override
  public Capacity capacity() {
    return capacity.get();
  }

  @Override
  public boolean clustered() {
    return false;
  }

  @Override
  public List<PeerInfo> peers() {
    return List.of();
  }

  @Override
  public io.torus.Page<PeerInfo> peers(String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      io.torus.internal.meta.PeerInfo.checkNodeId(after);
    }
    return new io.torus.Page<>(List.of(), null);
  }

  @Override
  public boolean removePeer(String nodeId) {
    io.torus.internal.meta.PeerInfo.checkNodeId(nodeId);
    return false;
  }

  @Override
  public void drainPeer(String nodeId) {
    throw TorusException.invalid("draining needs a cluster; this node is local (no peers)");
  }

  @Override
  public boolean cancelDrain(String nodeId) {
    throw TorusException.invalid("draining needs a cluster; this node is local (no peers)");
  }

  @Override
  public Optional<Replication> replication() {
    return Optional.empty();
  }

  @Override
  public Optional<RingInfo> ring() {
    return Optional.empty();
  }

  @Override
  public Optional<Defaults> defaults() {
    return Optional.empty();
  }

  @Override
  public Defaults initialize(int replication, int blockSize, io.torus.Erasure erasure,
      double overcommitRatio, boolean force) {
    throw TorusException.invalid("cluster defaults live in etcd; this node has no etcd");
  }

  @Override
  public Defaults setReplication(int replication) {
    throw TorusException.invalid("cluster defaults live in etcd; this node has no etcd");
  }
}
