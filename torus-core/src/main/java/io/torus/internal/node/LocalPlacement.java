package io.torus.internal.node;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.BlockUnavailableException;
import io.torus.ClusterAdmin;
import io.torus.GcResult;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.gc.GarbageCollector;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.LocalBlockLayer;
import io.torus.internal.map.MapNode;
import io.torus.internal.storage.StorePool;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * A node that keeps every block in its own stores: each volume's copies on distinct stores
 * of this node ({@link LocalBlockLayer}), collected by sweeping those stores.
 */
final class LocalPlacement implements Placement {
  private final String nodeId;
  private final List<BlockStore> stores;
  private final StorePool pool;
  private final BlockCache cache;
  private final GarbageCollector gc;
  private final ClusterAdmin admin;

  LocalPlacement(String nodeId, MetadataService meta, List<BlockStore> stores, BlockCache cache,
      Supplier<Collection<BlockRef>> openRoots, Supplier<ClusterAdmin.Capacity> capacity) {
    this.admin = new LocalAdmin(capacity);
    this.nodeId = nodeId;
    this.stores = stores;
    this.pool = LocalBlockLayer.pool(stores);
    this.cache = cache;
    this.gc = new GarbageCollector(meta, stores, this::readNode, openRoots);
  }

  @Override
  public void checkReplication(int replication) {
    if (replication > stores.size()) {
      throw TorusException.invalid("replication " + replication + " needs at least "
          + replication + " stores; this node has " + stores.size());
    }
  }

  @Override
  public void checkErasure(io.torus.Erasure erasure) {
    if (erasure != null) {
      throw TorusException.invalid("erasure coding needs a cluster of at least k+m peers ("
          + erasure.totalShards() + " for " + erasure + "); this node is local, with "
          + stores.size() + " store(s): use replication");
    }
  }

  @Override
  public BlockLayer layer(VolumeInfo info, long epoch) {
    return new LocalBlockLayer(pool, info.replication());
  }

  /** Reads a map node for garbage collection: from the cache, else from any store. */
  private MapNode readNode(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node != null) {
      return node;
    }
    for (BlockStore s : stores) {
      ByteBuffer b = s.get(ref);
      if (b != null) {
        return MapNode.decode(ref, b);
      }
    }
    throw new BlockUnavailableException("map node " + ref + " is in no store of node " + nodeId);
  }

  @Override
  public GcResult collectGarbage() {
    return gc.collect();
  }

  @Override
  public boolean collectsInBackground() {
    return true;
  }

  @Override
  public boolean underPressure() {
    return stores.stream().anyMatch(st -> st.used() * 2 > st.capacity());
  }

  @Override
  public long rawCapacity() {
    return stores.stream().mapToLong(BlockStore::capacity).sum();
  }

  @Override
  public long usedBytes() {
    return stores.stream().mapToLong(BlockStore::used).sum();
  }

  @Override
  public ClusterAdmin admin() {
    return admin;
  }

  @Override
  public int peerPort() {
    return -1;
  }

  @Override
  public List<Meter> bindMetrics(MeterRegistry registry) {
    return List.of();
  }

  @Override
  public void close() {}
}
