package io.torus.internal.node;

import io.torus.internal.layer.BlockCache;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.map.BlockMap;
import io.torus.internal.map.MapNode;
import io.torus.spi.BlockRef;
import java.util.function.Supplier;

/**
 * Reads map nodes of any volume for garbage collection: from the node's cache, else through a
 * read-only layer that asks every ring member in the ref's ring order until one has a good
 * copy (a collector must find a node whatever replication its volume had when it was
 * written, also after the volume's replication changed).
 */
final class MapNodeReader implements BlockMap.NodeReader {
  private final BlockCache cache;
  private final Supplier<BlockLayer> layer;

  /**
   * @param layer a read-only layer over the current ring (asked again on every read, so a
   *     ring change is seen)
   */
  MapNodeReader(BlockCache cache, Supplier<BlockLayer> layer) {
    this.cache = cache;
    this.layer = layer;
  }

  @Override
  public MapNode read(BlockRef ref) {
    MapNode node = cache.node(ref);
    if (node != null) {
      return node;
    }
    return MapNode.decode(ref, layer.get().get(ref));
  }
}
