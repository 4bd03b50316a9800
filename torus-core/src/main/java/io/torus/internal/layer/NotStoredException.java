package io.torus.internal.layer;

import io.torus.BlockUnavailableException;

/**
 * A get that found no good copy although every peer that may hold the block was up and
 * answered: each said it holds none, or (if {@link #corrupt()}) some sent a copy failing its
 * checksum. Unlike its parent, which also covers peers that were down or did not answer, it
 * says the block is not stored anywhere right now: what a degraded parity rebuild needs to
 * tell a stripe position written with no block from one it merely cannot reach.
 */
final class NotStoredException extends BlockUnavailableException {
  private static final long serialVersionUID = 1L;

  private final boolean corrupt;

  NotStoredException(String message, boolean corrupt) {
    super(message);
    this.corrupt = corrupt;
  }

  /** Whether some peer holds a copy that fails its checksum (the block was stored). */
  boolean corrupt() {
    return corrupt;
  }
}
