package io.torus.internal.layer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Which peers failed a request recently. A peer that failed is <em>suspect</em> for a
 * cool-down period: writes go past it to the next peer on the ring instead of waiting for
 * its deadline again, reads try it last. Shared by every volume of a node; thread-safe.
 */
public final class PeerHealth {
  private final Map<String, Long> suspectUntil = new ConcurrentHashMap<>();
  private final long coolDownNanos;
  private final LongSupplier nanoTime;

  /**
   * @param coolDown how long a failed peer stays suspect
   * @param nanoTime the clock ({@code System::nanoTime} outside tests)
   */
  public PeerHealth(Duration coolDown, LongSupplier nanoTime) {
    this.coolDownNanos = coolDown.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Records a failed request to {@code peer}. */
  public void failed(String peer) {
    suspectUntil.put(peer, nanoTime.getAsLong() + coolDownNanos);
  }

  /** Records a successful request to {@code peer}. */
  public void succeeded(String peer) {
    suspectUntil.remove(peer);
  }

  /** Whether {@code peer} failed within the cool-down period. */
  public boolean suspect(String peer) {
    Long until = suspectUntil.get(peer);
    if (until == null) {
      return false;
    }
    if (nanoTime.getAsLong() - until >= 0) {
      suspectUntil.remove(peer, until);
      return false;
    }
    return true;
  }
}
