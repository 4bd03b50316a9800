package io.torus.internal.node;

import io.torus.ClusterAdmin;
import io.torus.TorusException;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.ClusterDefaultsStore;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import io.torus.spi.MetadataService;
import java.util.List;
import java.util.Optional;

/**
 * {@link ClusterAdmin} of a cluster node, over its {@link Coordination} (peer registry, ring
 * store, replication reports, cluster defaults). Read-only but for peer removal and the
 * defaults; a peer's own registration and usage refresh belong to its {@link ClusterView}.
 *
 * <p>Concurrency: thread-safe; every read goes to the metadata service. Failure: reads throw
 * what the service throws.
 */
final class ClusterAdminImpl implements ClusterAdmin {
  private final Coordination coordination;
  private final ClusterDefaultsStore defaults;
  private final MetadataService meta;
  private final java.util.function.Supplier<Capacity> capacity;

  ClusterAdminImpl(MetadataService meta, Coordination coordination,
      java.util.function.Supplier<Capacity> capacity) {
    this.meta = meta;
    this.capacity = capacity;
    this.coordination = coordination;
    this.defaults = coordination.defaults();
  }

  @Override
  public Capacity capacity() {
    return capacity.get();
  }

  @Override
  public boolean clustered() {
    return true;
  }

  @Override
  public List<PeerInfo> peers() {
    return coordination.peers().peers().stream().map(ClusterAdminImpl::peer).toList();
  }

  @Override
  public io.torus.Page<PeerInfo> peers(String after, int limit) {
    io.torus.Page.checkLimit(limit);
    if (after != null) {
      io.torus.internal.meta.PeerInfo.checkNodeId(after);
    }
    return coordination.peers().peers(after, limit).map(ClusterAdminImpl::peer);
  }

  private static PeerInfo peer(PeerStatus s) {
    io.torus.internal.meta.PeerInfo i = s.info();
    return new PeerInfo(i.nodeId(), i.address(), s.up(), i.capacityBytes(),
        i.usedBytes(), i.started());
  }

  @Override
  public boolean removePeer(String nodeId) {
    return coordination.peers().remove(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public void drainPeer(String nodeId) {
    coordination.rebalance().requestDrain(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public boolean cancelDrain(String nodeId) {
    return coordination.rebalance().cancelDrain(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public Optional<Replication> replication() {
    io.torus.internal.rebalance.ClusterStatus st =
        io.torus.internal.rebalance.ClusterStatus.read(coordination);
    return Optional.of(new Replication(st.ringVersion(), st.inTransition(),
        st.underReplicated(), st.bytesToMove(), st.rateBytesPerSecond(), st.etaSeconds(),
        st.scrubRepaired(), st.settled()));
  }

  @Override
  public Optional<RingInfo> ring() {
    Optional<byte[]> bytes = coordination.ring().read().map(VersionedRing::bytes);
    return bytes.map(b -> {
      Ring r = RingCodec.decode(b);
      return new RingInfo(r.version(), r.type().name(), r.members().stream()
          .map(m -> new RingMember(m.id(), m.weight())).toList(), b.length);
    });
  }

  @Override
  public Optional<Defaults> defaults() {
    return defaults.read();
  }

  @Override
  public Defaults initialize(int replication, int blockSize, io.torus.Erasure erasure,
      double overcommitRatio, boolean force) {
    return defaults.initialize(replication, blockSize, erasure, overcommitRatio, force);
  }

  @Override
  public Defaults setReplication(int replication) {
    Defaults d = defaults.setReplication(replication);
    for (io.torus.VolumeInfo v : meta.volumes()) {
      if (!v.erasureCoded()) { // its replication is fixed by its policy
        meta.setVolumeReplication(v.name(), replication);
      }
    }
    return d;
  }
}
