package io.torus.internal.transport;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a {@link PeerServer} does with the requests it decodes: one method per request op
 * (put, get, delete, has, has-verified, list, flush, stats, journal append and fence). The
 * server only moves bytes; the store side (fencing, authorization, placement over the node's
 * stores, durability) is an implementation of this, e.g.
 * {@code io.torus.internal.peer.StorePeerService}.
 *
 * <p><b>Threads.</b> Implementations are thread-safe. The server calls them on its worker
 * executor, never on a network event loop, so they may block on store I/O.
 *
 * <p><b>Errors</b> become the reply's status: {@link StaleEpochException} STALE_EPOCH,
 * {@link UnauthorizedException} UNAUTHORIZED, {@link RefConflictException} CONFLICT,
 * {@link CorruptBlockException} CORRUPT, a {@link TorusException} with
 * {@link ErrorCode#ENOSPC} NO_SPACE, with {@link ErrorCode#EINVAL} INVALID, any other
 * exception IO_ERROR. The message goes back to the sender.
 */
public interface PeerService {

  /**
   * Stores one copy of a block.
   *
   * @param epoch the sender's fencing epoch for the ref's volume
   * @param data the block's bytes (its remaining bytes); valid only during the call (the
   *     server releases the frame after it), so the service copies what it keeps
   * @param crc32c the CRC32C the sender computed over {@code data}
   * @param repair whether this restores a copy verified elsewhere (no epoch check)
   * @param sync whether the copy must be durable (its store forced) before the call returns
   */
  void put(BlockRef ref, long epoch, ByteBuffer data, int crc32c, boolean repair,
      boolean sync);

  /**
   * The block's bytes in a buffer the caller then owns (the server sends and drops it), or
   * null if this peer holds no copy.
   *
   * @throws CorruptBlockException if the only copies found fail their checksum
   */
  ByteBuffer get(BlockRef ref);

  /**
   * A delete from the network; returns whether there was a copy.
   *
   * @param epoch the sender's fencing epoch for the ref's volume, or 0 for none
   * @param token the cluster token the sender presented, or null
   * @throws UnauthorizedException if neither authorizes it
   */
  boolean delete(BlockRef ref, long epoch, byte[] token);

  /** Whether this peer holds the ref (not read, maybe not yet durable). */
  boolean contains(BlockRef ref);

  /**
   * For each ref, whether this peer holds a copy that is durable and reads back with a good
   * checksum.
   *
   * @return one answer per ref, in order
   */
  boolean[] containsVerified(List<BlockRef> refs);

  /**
   * Up to {@code max} refs of a volume after {@code after} (null: from the start), ascending
   * and distinct.
   */
  ListPage list(long volumeId, BlockRef after, int max);

  /** Barrier: every put and delete that returned before this call is durable on return. */
  void flush();

  /** This peer's id, capacity and use; the id also answers the handshake. */
  PeerStats stats();

  /**
   * Appends one entry to a volume's flush journal on this peer; returns once it is durable.
   * The epoch is checked like a put's, and the check and the durable append are atomic with
   * respect to {@link #journalFence} of the same volume.
   *
   * @param epoch the writer's fencing epoch for the volume
   * @param generation the entry's generation: above every entry held for the volume and above
   *     its checkpoint, unless this re-appends a held entry with identical bytes (a retry,
   *     acknowledged as is)
   * @param checkpoint the writer's checkpoint generation: the peer may drop the volume's
   *     entries at or below it
   * @param entry the entry's bytes (its remaining bytes); valid only during the call
   * @throws StaleEpochException for a refused epoch
   * @throws TorusException EINVAL for a generation that does not move forward or an oversized
   *     entry, ENOSPC when the volume holds too many entries (the writer must checkpoint), EIO
   *     if it could not be made durable
   */
  void journalAppend(long volumeId, long epoch, long generation, long checkpoint,
      ByteBuffer entry);

  /**
   * Admits {@code epoch} for a volume (raising the highest accepted, like a put's check),
   * then answers every journal entry held for the volume with a generation above
   * {@code after}, ascending. Once this returned, no append with a lower epoch completes on
   * this peer, and every append that completed before it is in the answer. Epoch 0 reads
   * the entries without fencing (a reader that does not write).
   *
   * @return the entries; their arrays are not copied (read-only)
   * @throws StaleEpochException for a refused epoch
   */
  List<JournalRecord> journalFence(long volumeId, long epoch, long after);
}
