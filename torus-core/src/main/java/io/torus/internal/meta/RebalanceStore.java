package io.torus.internal.meta;

import java.util.Map;
import java.util.Set;

/**
 * The shared state of keeping blocks in place: each peer's {@linkplain ReplicationReport
 * progress report}, and the peers an operator asked to drain (take out of the ring after
 * their blocks were copied to their new owners). Both are persistent: a report outlives its
 * peer's session (a down peer shows what it last reported), a drain request outlives every
 * node.
 *
 * <p>Thread-safe. Calls block for at most the request timeout and throw
 * {@link io.torus.TorusException} ({@link io.torus.ErrorCode#EIO}, retryable) when the store
 * cannot be reached; a damaged record is an EIO error naming where it is stored.
 */
public interface RebalanceStore {

  /** Stores this peer's latest report (replacing the previous one). */
  void publish(ReplicationReport report);

  /** Every stored report, by node id. */
  Map<String, ReplicationReport> reports();

  /**
   * Asks the ring coordinator to drain {@code nodeId}: copy everything it holds to the peers
   * the ring without it names, then take it out of the ring. Idempotent.
   */
  void requestDrain(String nodeId);

  /** Withdraws a drain request; returns whether there was one. */
  boolean cancelDrain(String nodeId);

  /** The node ids with a drain request, sorted. */
  Set<String> drains();
}
