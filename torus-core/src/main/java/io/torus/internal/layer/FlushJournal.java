package io.torus.internal.layer;

import io.torus.spi.BlockRef;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.CompletableFuture;

/**
 * The client side of a volume's flush journal: entries (opaque bytes, one per flush) appended
 * to a fixed set of peers under the writer's fencing epoch, and read back by the next writer
 * after it fenced them. See {@code src-docs/architecture.md}, "Flush journal".
 *
 * <p><b>Guarantees the writer builds on.</b> An append completes only when every peer of the
 * set has the entry durably and accepted the epoch; a peer that has seen a newer epoch for the
 * volume refuses it ({@link io.torus.internal.transport.StaleEpochException}). A fence raises
 * the volume's epoch on a peer and, in the same step, reads its entries: once it has returned,
 * no append with a lower epoch completes on that peer, and every one completed before it is in
 * its answer. So an entry whose append completed is in the answer of every fenced peer.
 *
 * <p>Thread-safe; futures complete on peer callback threads.
 */
public interface FlushJournal {

  /**
   * The peers a new journal of the volume goes to: {@code copies} distinct ring members that
   * are registered and not suspect, in ring order; empty if there are fewer.
   */
  List<String> choose(long volumeId, int copies);

  /**
   * Appends one entry to every peer of {@code peers}; completes when all have it durably.
   *
   * @param generation the entry's generation, above every earlier entry's
   * @param checkpoint the generation of the volume's last head commit: peers drop the
   *     volume's entries at or below it
   */
  CompletableFuture<Void> append(List<String> peers, long volumeId, long epoch, long generation,
      long checkpoint, byte[] entry);

  /**
   * Fences every peer of {@code peers} with {@code epoch} (with 0: reads without fencing, for
   * a reader) and returns the entries above
   * {@code after} that the peers which answered hold, by generation. Blocks. Throws EIO if no
   * peer answered (nothing is then known of the journal), and
   * {@link io.torus.internal.transport.StaleEpochException} if a peer has seen a newer epoch.
   */
  NavigableMap<Long, byte[]> recover(List<String> peers, long volumeId, long epoch, long after);

  /** Whether a block has a durable copy, as {@link #locate} found out. */
  enum Presence {
    /** A peer holds a durable copy whose checksum verifies. */
    PRESENT,
    /** Every peer that may hold it answered, and none holds a durable, intact copy. */
    ABSENT,
    /** No durable copy was found, but a peer that may hold one did not answer. */
    UNKNOWN
  }

  /**
   * For each block, whether some peer that may hold it (its ring replicas and fallbacks)
   * holds a durable copy whose checksum verifies; a peer asked makes a copy it holds durable
   * first. Blocks.
   */
  Map<BlockRef, Presence> locate(Collection<BlockRef> refs);
}
