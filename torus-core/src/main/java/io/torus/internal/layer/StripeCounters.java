package io.torus.internal.layer;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counts of the erasure-coded reads of a node's layers, shared by every layer of the node so
 * that its metrics show them. Thread-safe.
 */
public final class StripeCounters {
  final LongAdder degradedReads = new LongAdder();
  final LongAdder rebuiltShards = new LongAdder();

  /** Gets of shards that found no stored copy and went to the stripe. */
  public long degradedReads() {
    return degradedReads.sum();
  }

  /** Shards rebuilt from their stripes by those gets. */
  public long rebuiltShards() {
    return rebuiltShards.sum();
  }
}
