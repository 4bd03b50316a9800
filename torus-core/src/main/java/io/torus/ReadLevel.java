package io.torus;

/** How a replicated block is read. */
public enum ReadLevel {
  /** The first replica, in ring order, that returns a copy passing its checksum (default). */
  FIRST,
  /** Every live replica is read; missing or corrupt copies are repaired from a good one. */
  VERIFY
}
