package io.torus.internal.meta;

import io.torus.ClusterAdmin.Defaults;
import io.torus.Erasure;
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
   * Stores new defaults; {@code erasure} (null: none) is the policy of new volumes created
   * without a replication or policy of their own, {@code overcommitRatio} the cluster's
   * capacity guard ({@link Defaults#overcommitRatio()}). Without {@code force}, refused
   * (EPERM) if defaults exist; with it, they are replaced (their {@code initialized} time
   * too).
   */
  Defaults initialize(int replication, int blockSize, Erasure erasure, double overcommitRatio,
      boolean force);

  /** {@link #initialize(int, int, Erasure, double, boolean)} with the default overcommit. */
  default Defaults initialize(int replication, int blockSize, Erasure erasure, boolean force) {
    return initialize(replication, blockSize, erasure, Defaults.DEFAULT_OVERCOMMIT_RATIO,
        force);
  }

  /** {@link #initialize(int, int, Erasure, boolean)} without an erasure-coding policy. */
  default Defaults initialize(int replication, int blockSize, boolean force) {
    return initialize(replication, blockSize, null, force);
  }

  /**
   * Changes the default replication of an initialised cluster (EINVAL if not initialised);
   * the default erasure-coding policy and the overcommit ratio stay.
   */
  Defaults setReplication(int replication);
}
