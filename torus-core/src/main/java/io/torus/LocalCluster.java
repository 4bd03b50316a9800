package io.torus;

import io.torus.internal.meta.local.LocalMetadataService;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Metadata and coordination that several nodes of one process share, without etcd: volumes,
 * writer locks, the peer registry, the ring and elections, persisted in one directory. Nodes
 * built with {@link TorusBuilder#localCluster} are peers of one cluster: each serves the peer
 * protocol on its own address and the ring places every volume's copies across them, exactly
 * as with etcd, only without a second process.
 *
 * <pre>{@code
 * try (LocalCluster cluster = LocalCluster.open(dir.resolve("meta"))) {
 *   Torus a = Torus.builder().localCluster(cluster).dataDirectory(dir.resolve("a")).build();
 *   Torus b = Torus.builder().localCluster(cluster).dataDirectory(dir.resolve("b")).build();
 *   ...
 * }
 * }</pre>
 *
 * <p>A node's writer locks, leadership and "up" status last as long as the node (its session);
 * after a restart of the process every peer is down until it starts again, and the ring and
 * peer list are as they were. Close every node before the cluster. Thread-safe.
 */
public final class LocalCluster implements AutoCloseable {
  private final LocalMetadataService service;

  private LocalCluster(LocalMetadataService service) {
    this.service = service;
  }

  /**
   * Opens (creating if needed) the cluster persisted in {@code dir}.
   *
   * @throws TorusException EPERM if another process or cluster has the directory open, EIO if
   *     its state is damaged
   */
  public static LocalCluster open(Path dir) {
    return new LocalCluster(LocalMetadataService.open(Objects.requireNonNull(dir, "dir")));
  }

  /** A cluster kept in memory only, gone when closed. */
  public static LocalCluster inMemory() {
    return new LocalCluster(LocalMetadataService.inMemory());
  }

  LocalMetadataService service() {
    return service;
  }

  /** Closes the shared state; nodes still open lose their metadata. Idempotent. */
  @Override
  public void close() {
    service.close();
  }

  @Override
  public String toString() {
    return "LocalCluster[" + service + "]";
  }
}
