package io.torus.internal.rebalance;

import io.torus.TorusException;
import java.time.Duration;

/**
 * How a peer keeps its blocks in place and verified (see {@code configuration.md}).
 *
 * @param rebalanceBytesPerSecond copy rate limit of rebalance, re-replication and
 *     anti-entropy, per peer
 * @param scrubBytesPerSecond read rate limit of scrub, per peer
 * @param scrubInterval pause between two complete scrub rounds; zero disables scrub
 * @param antiEntropyInterval pause between two anti-entropy passes while the ring is stable
 *     and the last pass was complete (passes run back to back otherwise)
 * @param lostPeerGrace how long a ring member may be down before it is taken out of the ring
 *     and its blocks are re-replicated
 * @param tick how often the ring coordinator looks at the cluster
 */
public record RebalanceOptions(long rebalanceBytesPerSecond, long scrubBytesPerSecond,
    Duration scrubInterval, Duration antiEntropyInterval, Duration lostPeerGrace,
    Duration tick) {

  /** Validates every field. */
  public RebalanceOptions {
    if (rebalanceBytesPerSecond <= 0 || scrubBytesPerSecond <= 0) {
      throw TorusException.invalid("rates must be > 0 bytes/s: " + rebalanceBytesPerSecond
          + ", " + scrubBytesPerSecond);
    }
    for (Duration d : new Duration[] {scrubInterval, antiEntropyInterval, lostPeerGrace, tick}) {
      if (d == null || d.isNegative()) {
        throw TorusException.invalid("durations must be >= 0: " + d);
      }
    }
  }

  /** The defaults: 64 MiB/s copies, 8 MiB/s scrub every hour, 1 min, 5 min grace. */
  public static RebalanceOptions defaults() {
    return new RebalanceOptions(64L << 20, 8L << 20, Duration.ofHours(1), Duration.ofMinutes(1),
        Duration.ofMinutes(5), Duration.ofMillis(500));
  }
}
