package io.torus.internal.meta;

import io.torus.ClusterAdmin.Defaults;
import java.util.Optional;

/**
 * The cluster's defaults record, written by {@code torus init}: what a new volume gets when
 * its creator does not say. Thread-safe; calls block for at most the service's request
 * timeout.
 */
public interface ClusterDefaultsStore {

  /** The stored defaults, or empty if the cluster was never initialised. */
  Optional<Defaults> read();

  /**
   * Stores new defaults. Without {@code force}, refused (EPERM) if defaults exist; with it,
   * they are replaced (their {@code initialized} time too).
   */
  Defaults initialize(int replication, int blockSize, boolean force);

  /** Changes the default replication of an initialised cluster (EINVAL if not initialised). */
  Defaults setReplication(int replication);
}
