package io.torus.internal.node;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.torus.ClusterAdmin;
import io.torus.GcResult;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockLayer;
import java.util.List;

/**
 * How a node's volumes reach their blocks: the one place that knows whether the node keeps
 * blocks in its own stores ({@link LocalPlacement}) or places them on a cluster's peers by the
 * ring ({@link ClusterPlacement}). It answers which layer serves a volume, how garbage is
 * collected, what the admin view shows and which meters describe it.
 *
 * <p>Thread-safe. Closed by the node after its volumes, before its stores.
 */
interface Placement extends AutoCloseable {

  /**
   * Throws {@link io.torus.TorusException} (EINVAL) if a volume with this replication cannot
   * be placed here (more copies than a local node has stores).
   */
  void checkReplication(int replication);

  /**
   * Throws {@link io.torus.TorusException} (EINVAL) if a volume erasure-coded with
   * {@code erasure} cannot be placed here (a local node: its shards need k+m peers); null is
   * a replicated volume. The default accepts every policy: a cluster's ring places shards as
   * it places copies (too few peers show as missing shards).
   */
  default void checkErasure(io.torus.Erasure erasure) {}

  /** The block layer of a volume opened with fencing {@code epoch} (0: read-only). */
  BlockLayer layer(VolumeInfo info, long epoch);

  /** One garbage collection cycle over every store this placement reaches. */
  GcResult collectGarbage();

  /** Whether this node runs background collection now (a cluster elects one peer). */
  boolean collectsInBackground();

  /** Whether a store this node collects for is more than half full. */
  boolean underPressure();

  /**
   * The raw capacity the node's volumes are placed on, bytes: of the peers up as they
   * registered it (from the node's live view, no metadata read), or of a local node's stores.
   */
  long rawCapacity();

  /** The bytes held on that capacity, as last reported. */
  long usedBytes();

  /** The admin view of the node's cluster (or of the local node). */
  ClusterAdmin admin();

  /** The peer protocol port of a peer, or -1. */
  int peerPort();

  /** Registers this placement's meters; returns them for removal. */
  List<Meter> bindMetrics(MeterRegistry registry);

  /** Stops background work and, for a cluster, leaves it; does not close the stores. */
  @Override
  void close();
}
