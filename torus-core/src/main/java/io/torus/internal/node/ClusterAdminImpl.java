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
 * {@link ClusterAdmin} over the metadata service's {@link Coordination} (peer registry, ring
 * store) and the etcd cluster defaults record. Read-only but for peer removal and the
 * defaults; a peer's own registration and usage refresh belong to its {@link ClusterView}.
 *
 * <p>Concurrency: thread-safe; every read goes to the metadata service. Failure: reads throw
 * what the service throws.
 */
final class ClusterAdminImpl implements ClusterAdmin, AutoCloseable {
  private final boolean clustered;
  private final Coordination coordination;
  private final ClusterDefaultsStore defaults;
  private final MetadataService meta;

  private ClusterAdminImpl(boolean clustered, Coordination coordination,
      ClusterDefaultsStore defaults, MetadataService meta) {
    this.meta = meta;
    this.clustered = clustered;
    this.coordination = coordination;
    this.defaults = defaults;
  }

  /** The admin view of a local node: no peers, no ring, no defaults. */
  static ClusterAdminImpl local(MetadataService meta) {
    return new ClusterAdminImpl(false, null, null, meta);
  }

  /** The admin view of a cluster node. */
  static ClusterAdminImpl cluster(MetadataService meta, Coordination coordination) {
    return new ClusterAdminImpl(true, coordination, coordination.defaults(), meta);
  }

  @Override
  public boolean clustered() {
    return clustered;
  }

  @Override
  public List<PeerInfo> peers() {
    if (coordination == null) {
      return List.of();
    }
    return coordination.peers().peers().stream().map(ClusterAdminImpl::peer).toList();
  }

  private static PeerInfo peer(PeerStatus s) {
    io.torus.internal.meta.PeerInfo i = s.info();
    return new PeerInfo(i.nodeId(), i.address(), s.up(), i.capacityBytes(),
        i.usedBytes(), i.started());
  }

  @Override
  public boolean removePeer(String nodeId) {
    if (coordination == null) {
      return false;
    }
    return coordination.peers().remove(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public void drainPeer(String nodeId) {
    coordinationOrFail().rebalance().requestDrain(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public boolean cancelDrain(String nodeId) {
    return coordinationOrFail().rebalance().cancelDrain(
        io.torus.internal.meta.PeerInfo.checkNodeId(nodeId));
  }

  @Override
  public Optional<Replication> replication() {
    if (!clustered || coordination == null) {
      return Optional.empty();
    }
    io.torus.internal.rebalance.ClusterStatus st =
        io.torus.internal.rebalance.ClusterStatus.read(coordination);
    return Optional.of(new Replication(st.ringVersion(), st.inTransition(),
        st.underReplicated(), st.bytesToMove(), st.rateBytesPerSecond(), st.etaSeconds(),
        st.scrubRepaired(), st.settled()));
  }

  private Coordination coordinationOrFail() {
    if (!clustered || coordination == null) {
      throw TorusException.invalid("draining needs a cluster; this node has no etcd");
    }
    return coordination;
  }

  @Override
  public Optional<RingInfo> ring() {
    Optional<byte[]> bytes = coordination == null ? Optional.empty()
        : coordination.ring().read().map(VersionedRing::bytes);
    return bytes.map(b -> {
      Ring r = RingCodec.decode(b);
      return new RingInfo(r.version(), r.type().name(), r.members().stream()
          .map(m -> new RingMember(m.id(), m.weight())).toList(), b.length);
    });
  }

  @Override
  public Optional<Defaults> defaults() {
    return defaults == null ? Optional.empty() : defaults.read();
  }

  @Override
  public Defaults initialize(int replication, int blockSize, boolean force) {
    return etcdDefaults().initialize(replication, blockSize, force);
  }

  @Override
  public Defaults setReplication(int replication) {
    Defaults d = etcdDefaults().setReplication(replication);
    for (io.torus.VolumeInfo v : meta.volumes()) {
      meta.setVolumeReplication(v.name(), replication);
    }
    return d;
  }

  private ClusterDefaultsStore etcdDefaults() {
    if (defaults == null) {
      throw TorusException.invalid("cluster defaults live in etcd; this node has no etcd");
    }
    return defaults;
  }

  /** Nothing to release: the view holds no resources of its own. */
  @Override
  public void close() {}
}
