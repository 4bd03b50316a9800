package io.torus.internal.node;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.ClusterAdmin;
import io.torus.GcResult;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.meta.Coordination;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * A node of a cluster: blocks are placed on the peers the ring names and reached over the
 * peer protocol ({@link ClusterMember}); one elected peer collects garbage for the cluster
 * ({@link ClusterGc}), reading map nodes wherever the ring put them ({@link MapNodeReader}).
 */
final class ClusterPlacement implements Placement {
  /** Deletes per second the collecting peer sends in all. */
  private static final long GC_DELETES_PER_SECOND = 20_000;

  private final ClusterMember member;
  private final ClusterGc gc;
  private final ClusterAdminImpl admin;

  ClusterPlacement(NodeConfig c, String nodeId, MetadataService meta, Coordination coordination,
      List<BlockStore> stores, BlockCache cache, NodeResources resources,
      Supplier<Collection<BlockRef>> openRoots, Supplier<ClusterAdmin.Capacity> capacity) {
    this.member = new ClusterMember(c, nodeId, meta, coordination, stores, resources);
    ClusterGc collector = null;
    try {
      collector = new ClusterGc(meta, member.view(), coordination.election("gc", nodeId),
          new MapNodeReader(cache, member::readerLayer), openRoots, c.peer().timeout(),
          GC_DELETES_PER_SECOND);
      this.admin = new ClusterAdminImpl(meta, coordination, capacity);
    } catch (RuntimeException e) {
      if (collector != null) {
        collector.close();
      }
      member.close();
      throw e;
    }
    this.gc = collector;
  }

  @Override
  public void checkReplication(int replication) {
    // The ring places any replication; too few peers show as under-replication.
  }

  @Override
  public BlockLayer layer(VolumeInfo info, long epoch) {
    return member.layer(info.replication(), epoch);
  }

  @Override
  public GcResult collectGarbage() {
    return gc.collect();
  }

  @Override
  public boolean collectsInBackground() {
    return gc.isLeader();
  }

  @Override
  public boolean underPressure() {
    return member.underPressure();
  }

  @Override
  public long rawCapacity() {
    return member.view().peers().stream().filter(p -> p.up())
        .mapToLong(p -> p.info().capacityBytes()).sum();
  }

  @Override
  public long usedBytes() {
    return member.view().peers().stream().filter(p -> p.up())
        .mapToLong(p -> p.info().usedBytes()).sum();
  }

  @Override
  public ClusterAdmin admin() {
    return admin;
  }

  @Override
  public int peerPort() {
    return member.port();
  }

  @Override
  public List<Meter> bindMetrics(MeterRegistry registry) {
    return member.bindMetrics(registry);
  }

  @Override
  public void close() {
    try {
      gc.close();
    } finally {
      member.close();
    }
  }
}
