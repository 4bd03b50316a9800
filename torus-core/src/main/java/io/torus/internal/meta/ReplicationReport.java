package io.torus.internal.meta;

import io.torus.TorusException;
import java.time.Instant;
import java.util.Objects;

/**
 * What one peer last said about keeping its blocks where the ring wants them (rebalance,
 * re-replication, anti-entropy) and about scrubbing them. Published by the peer every few
 * seconds; read by the ring coordinator (to retire an old ring) and by status tools.
 *
 * @param nodeId the peer
 * @param ringVersion the ring version its current (or last) pass works against
 * @param done whether a complete pass against {@code ringVersion} found nothing left that
 *     this peer could still do (every copy it is responsible for is in place, every reachable
 *     target confirmed; copies owed to peers that are down are counted in {@code missing})
 * @param scanned blocks examined in the current pass
 * @param total blocks this peer held when the current pass began
 * @param missing copies that owners lack, found so far in this pass and not yet made
 *     (blocks under-replicated as far as this peer can tell)
 * @param bytesToMove estimated bytes still to copy in this pass
 * @param bytesMoved bytes copied to other peers since this peer started
 * @param rateBytesPerSecond recent copy rate
 * @param scrubbed blocks re-read and verified by scrub since this peer started
 * @param corruptFound copies that failed verification since this peer started
 * @param repaired bad copies replaced by good ones since this peer started
 * @param updated when the report was made
 */
public record ReplicationReport(String nodeId, long ringVersion, boolean done, long scanned,
    long total, long missing, long bytesToMove, long bytesMoved, long rateBytesPerSecond,
    long scrubbed, long corruptFound, long repaired, Instant updated) {

  /** Validates: a valid node id, no negative count. */
  public ReplicationReport {
    PeerInfo.checkNodeId(nodeId);
    Objects.requireNonNull(updated, "updated");
    long[] counts = {ringVersion, scanned, total, missing, bytesToMove, bytesMoved,
        rateBytesPerSecond, scrubbed, corruptFound, repaired};
    for (long c : counts) {
      if (c < 0) {
        throw TorusException.invalid("replication report counts must be >= 0: " + c);
      }
    }
  }

  /** Seconds until {@link #bytesToMove} are copied at the current rate, or -1 if unknown. */
  public long etaSeconds() {
    if (bytesToMove == 0) {
      return 0;
    }
    return rateBytesPerSecond == 0 ? -1 : (bytesToMove + rateBytesPerSecond - 1)
        / rateBytesPerSecond;
  }
}
