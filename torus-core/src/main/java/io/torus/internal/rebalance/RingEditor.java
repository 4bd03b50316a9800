package io.torus.internal.rebalance;

import io.torus.ConcurrentUpdateException;
import io.torus.internal.meta.RingStore;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import java.util.Optional;

/**
 * Reads and compare-and-swaps the cluster's ring through {@link RingStore}, keeping the
 * version inside the ring's encoding equal to the store's version (the store bumps it by one
 * on every change). Stateless; thread-safe.
 */
public final class RingEditor {
  private final RingStore store;

  public RingEditor(RingStore store) {
    this.store = store;
  }

  /** The stored ring, decoded, or empty; throws EIO if it cannot be read or decoded. */
  public Optional<Ring> read() {
    return store.read().map(v -> RingCodec.decode(v.bytes()));
  }

  /**
   * Stores {@code next} (its version is replaced by {@code current.version() + 1}, or 1) if
   * the stored ring is still {@code current}.
   *
   * @param current the ring read, or null if there was none
   * @return the ring stored, or empty if the stored ring changed meanwhile
   */
  public Optional<Ring> replace(Ring current, Ring next) {
    long expected = current == null ? 0 : current.version();
    Ring versioned = next.withVersion(expected + 1);
    try {
      VersionedRing stored = store.update(expected, RingCodec.encode(versioned));
      return Optional.of(versioned.withVersion(stored.version()));
    } catch (ConcurrentUpdateException e) {
      return Optional.empty();
    }
  }
}
