package io.torus.internal.node;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.layer.BlockCache;
import io.torus.internal.meta.Coordination;
import io.torus.internal.meta.etcd.EtcdMetadataService;
import io.torus.internal.meta.etcd.EtcdOptions;
import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.internal.meta.local.LocalSession;
import io.torus.internal.storage.CheckedBlockStore;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.MetadataService;
import io.torus.spi.StoreConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.Collection;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Starting a node: lock its data directory, read or create its id, open its stores, connect
 * its metadata and coordination. Whatever was opened is closed again if a later step fails.
 */
final class NodeStart {
  private NodeStart() {}

  /** What a {@link Placement} is built from: the node's own parts. */
  record PlacementParts(NodeConfig config, String nodeId, MetadataService meta,
      List<BlockStore> stores, BlockCache cache, NodeResources resources,
      Supplier<Collection<BlockRef>> openRoots,
      Supplier<io.torus.ClusterAdmin.Capacity> capacity) {}

  /**
   * A node's metadata and how its blocks are placed, which follow from each other: local
   * metadata means the node's own stores, shared coordination (etcd or in-process) means the
   * cluster's ring.
   *
   * @param service volumes, heads and locks
   * @param placement makes the node's placement once its parts exist
   * @param shutdown tells the service that the node is closing with this budget (etcd
   *     bounds its remaining waits by it); a no-op where nothing waits
   * @param owned whether the node closes the service
   */
  record Metadata(MetadataService service, Function<PlacementParts, Placement> placement,
      Consumer<Duration> shutdown, boolean owned) {

    void close() {
      if (owned) {
        service.close();
      }
    }
  }

  /** Everything {@link TorusNode} is built from. */
  record Parts(DirectoryLock dirLock, String nodeId, List<BlockStore> stores,
      Metadata metadata, NodeResources resources, boolean ownsResources) {}

  static Parts open(NodeConfig c) {
    Path dir = c.storage().dataDirectory();
    DirectoryLock dirLock = dir == null ? null : DirectoryLock.acquire(dir);
    boolean clientOnly = c.clustered() && !c.peer().enabled();
    List<BlockStore> stores = List.of();
    Metadata meta = null;
    NodeResources resources = c.runtime().resources();
    boolean ownsResources = false;
    try {
      String nodeId = c.nodeId() != null ? c.nodeId() : nodeId(dir);
      stores = clientOnly ? List.of()
          : c.storage().stores().isEmpty() ? List.of(openStore(c))
          : CheckedBlockStore.wrapAll(c.storage().stores());
      meta = metadata(c, dir);
      if (resources == null) {
        resources = NodeResources.defaults(c.runtime().ioThreads());
        ownsResources = true;
      }
      return new Parts(dirLock, nodeId, stores, meta, resources, ownsResources);
    } catch (RuntimeException e) {
      if (meta != null) {
        meta.close();
      }
      if (c.storage().stores().isEmpty()) {
        stores.forEach(BlockStore::close);
      }
      if (dirLock != null) {
        dirLock.close();
      }
      throw e;
    }
  }

  private static Metadata metadata(NodeConfig c, Path dir) {
    NodeConfig.Metadata m = c.metadata();
    if (m.etcd()) {
      EtcdOptions.Builder eb = EtcdMetadataService.builder().endpoints(m.etcdEndpoints())
          .rootPrefix(m.etcdPrefix()).requestTimeout(c.volumes().ioTimeout())
          .leaseTtl(m.leaseTtl());
      if (m.etcdTls() != null) {
        eb.trustedCa(m.etcdTls().caCertificate());
        if (m.etcdTls().hasCertificate()) {
          eb.clientCertificate(m.etcdTls().certificateChain(), m.etcdTls().privateKey());
        }
      }
      if (m.etcdUser() != null) {
        eb.credentials(m.etcdUser(), m.etcdPassword());
      }
      EtcdMetadataService etcd = eb.build();
      return new Metadata(etcd, cluster(etcd), etcd::shutdownWithin, true);
    }
    if (m.shared() != null) {
      LocalSession s = m.shared().session();
      return new Metadata(s, cluster(s), budget -> { }, true);
    }
    if (m.service() != null) {
      return new Metadata(m.service(), NodeStart::local, budget -> { }, false);
    }
    MetadataService local = dir == null ? LocalMetadataService.inMemory()
        : LocalMetadataService.open(dir.resolve("meta"));
    return new Metadata(local, NodeStart::local, budget -> { }, true);
  }

  private static Placement local(PlacementParts p) {
    return new LocalPlacement(p.nodeId(), p.meta(), p.stores(), p.cache(), p.openRoots(),
        p.capacity());
  }

  private static Function<PlacementParts, Placement> cluster(Coordination coordination) {
    return p -> new ClusterPlacement(p.config(), p.nodeId(), p.meta(), coordination,
        p.stores(), p.cache(), p.resources(), p.openRoots(), p.capacity());
  }

  private static BlockStore openStore(NodeConfig c) {
    Path dir = c.storage().dataDirectory();
    String type = c.storage().storeType() != null ? c.storage().storeType()
        : dir == null ? "memory" : "file";
    if ("file".equals(type) && dir == null) {
      throw TorusException.invalid("store type 'file' needs a data directory");
    }
    return BlockStores.open(type, new StoreConfig(dir == null ? null : dir.resolve("store"),
        c.storage().storeCapacity(), Map.of()));
  }

  private static String nodeId(Path dir) {
    if (dir == null) {
      return UUID.randomUUID().toString();
    }
    Path file = dir.resolve("node-id");
    try {
      if (Files.exists(file)) {
        String id = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (id.isEmpty()) {
          throw new TorusException(ErrorCode.EIO, "node id file " + file + " is empty");
        }
        return id;
      }
      String id = UUID.randomUUID().toString();
      Path tmp = dir.resolve("node-id.tmp");
      Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      return id;
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot read or write node id file " + file, e);
    }
  }
}
