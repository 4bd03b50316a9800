package io.torus;

/**
 * How many copies of a block must be stored, and made durable by a flush, before a write
 * or flush of a replicated volume succeeds. No level ever acknowledges data that exists only
 * in client memory; the weaker levels tolerate unreachable replicas at the price of fewer
 * guaranteed copies until the cluster repairs them.
 */
public enum WriteLevel {
  /** Every one of the R replicas (the default): a flushed block survives R-1 peer losses. */
  ALL,
  /** A majority, {@code R/2 + 1}: survives fewer losses; documented as weaker. */
  QUORUM,
  /** One copy: a flushed block may be lost with a single peer. Documented as weakest. */
  ONE;

  /** The number of durable copies this level requires for replication {@code r}. */
  public int required(int r) {
    switch (this) {
      case ALL: return r;
      case QUORUM: return r / 2 + 1;
      default: return 1;
    }
  }
}
