package io.torus.internal.peer;

import io.torus.CorruptBlockException;
import io.torus.TorusException;
import io.torus.internal.storage.StorePool;
import io.torus.internal.transport.JournalRecord;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerService;
import io.torus.internal.transport.PeerStats;
import io.torus.internal.transport.StaleEpochException;
import io.torus.internal.transport.UnauthorizedException;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a peer does with the requests it serves: one copy of each block on one of the node's
 * stores (the ref's home in a {@link StorePool} with {@link StorePool.Placement#PEER}),
 * fencing by epoch per volume, authorization of deletes.
 *
 * <p>Thread-safe; methods block on store I/O and run on the server's worker threads.
 *
 * <p><b>Fencing.</b> A put carrying an epoch below the highest this peer has accepted for the
 * volume throws {@link StaleEpochException}. A higher one is first checked with the
 * {@link EpochAuthority} (it must be the volume's current lock epoch; a forged or superseded
 * one is refused the same way) and persisted before the put is stored. A <em>repair</em>
 * put (a copy of a block read and verified elsewhere, sent to restore a missing or corrupt
 * copy) skips the check: it can only restore bytes the ref already names.
 *
 * <p><b>Puts never destroy a copy.</b> A put goes to the store that already holds the ref,
 * else to the ref's home store; the store's own put replaces a corrupt copy only after the
 * new one is written, is a no-op for equal content and refuses different content. Nothing is
 * deleted first, so a failing put (full store, bad checksum) leaves the old copy as it was.
 *
 * <p><b>Deletes</b> from the network are authorized: they carry the cluster token (garbage
 * collection, rebalance) or the volume's fencing epoch, at least the highest accepted (a
 * writer deleting its superseded blocks). Anything else throws
 * {@link UnauthorizedException}.
 *
 * <p><b>Durability</b> is the {@link StorePool}'s: a barrier returns only after an fsync that
 * began after every put or delete it covers, and a failed fsync fails every barrier waiting
 * on it and leaves the store dirty.
 *
 * <p><b>Flush journal.</b> Journal appends and fences ({@link JournalTable}, persisted in
 * {@code journal.log} beside the epoch file) are admitted like puts, and each volume's admit
 * and append, or admit and read, are atomic with respect to each other. {@link #close()}
 * closes the journal's file.
 */
public final class StorePeerService implements PeerService, AutoCloseable {
  /** Deletes after which the peer flushes by itself (a store reuses space after a flush). */
  static final int DELETES_PER_FLUSH = 256;
  /** The flush journal's file name, beside the epoch file. */
  public static final String JOURNAL_FILE = "journal.log";

  private final String nodeId;
  private final StorePool pool;
  private final EpochTable epochs;
  private final JournalTable journal;
  private final EpochAuthority authority;
  private final byte[] clusterToken;
  /**
   * Refs whose put is running (a store may show the ref before the put returns and is
   * counted by its flusher): {@link #containsVerified} does not count them.
   */
  private final ConcurrentHashMap<BlockRef, Integer> putting = new ConcurrentHashMap<>();

  /**
   * A peer that trusts every epoch and accepts deletes only with an epoch; see
   * {@link EpochAuthority#TRUSTING} for when that is safe.
   *
   * @param nodeId this peer's id
   * @param stores the stores, in a fixed order; at least one
   * @param epochFile where the epoch table is persisted, or null to keep it in memory; the
   *     flush journal goes to {@code journal.log} beside it (in memory without it)
   */
  public StorePeerService(String nodeId, List<BlockStore> stores, Path epochFile) {
    this(nodeId, stores, epochFile, EpochAuthority.TRUSTING, null);
  }

  /**
   * @param nodeId this peer's id
   * @param stores the stores, in a fixed order; at least one
   * @param epochFile where the epoch table is persisted, or null to keep it in memory; the
   *     flush journal goes to {@code journal.log} beside it (in memory without it)
   * @param authority checks epochs the peer has not seen before it persists them
   * @param clusterToken the cluster's internal capability that authorizes deletes without an
   *     epoch, or null to accept none
   * @throws TorusException EIO if the journal file cannot be read or is corrupt
   */
  public StorePeerService(String nodeId, List<BlockStore> stores, Path epochFile,
      EpochAuthority authority, byte[] clusterToken) {
    if (stores.isEmpty()) {
      throw TorusException.invalid("a peer needs at least one store");
    }
    this.nodeId = nodeId;
    this.pool = new StorePool(stores, StorePool.Placement.PEER, DELETES_PER_FLUSH);
    this.epochs = new EpochTable(epochFile);
    this.journal = new JournalTable(epochFile == null ? null
        : epochFile.resolveSibling(JOURNAL_FILE));
    this.authority = Objects.requireNonNull(authority, "authority");
    this.clusterToken = clusterToken == null ? null : clusterToken.clone();
  }

  /** Stores one copy (durably with {@code sync}); see the class comment for fencing, repair. */
  @Override
  public void put(BlockRef ref, long epoch, ByteBuffer data, int crc32c, boolean repair,
      boolean sync) {
    if (!repair) {
      admit(ref.volumeId(), epoch, "put");
    }
    int h = pool.holder(ref);
    int s = h >= 0 ? h : pool.home(ref);
    putting.merge(ref, 1, Integer::sum);
    try {
      pool.put(s, ref, data, crc32c);
    } finally {
      putting.computeIfPresent(ref, (r, n) -> n == 1 ? null : n - 1);
    }
    if (sync) {
      pool.barrier(s); // the store's group-committed force: shared with concurrent puts
    }
  }

  /**
   * Accepts {@code epoch} for a volume or throws {@link StaleEpochException}: below the
   * highest accepted, or above it and not confirmed by the authority.
   */
  private void admit(long volumeId, long epoch, String what) {
    long seen = epochs.highest(volumeId);
    if (epoch > seen && !authority.isCurrent(volumeId, epoch)) {
      throw new StaleEpochException("epoch " + epoch + " of volume " + volumeId + " is not "
          + "the volume's current lock epoch; peer " + nodeId + " refused the " + what
          + " (highest accepted: " + seen + ")");
    }
    if (!epochs.admit(volumeId, epoch)) {
      throw new StaleEpochException("stale epoch " + epoch + " for volume " + volumeId
          + ": peer " + nodeId + " has accepted epoch " + epochs.highest(volumeId));
    }
  }

  /** The highest epoch accepted for a volume (0 if none). */
  public long highestEpoch(long volumeId) {
    return epochs.highest(volumeId);
  }

  /**
   * The block, or null if no store holds it. Throws {@link CorruptBlockException} if the only
   * copies found fail their checksum.
   */
  @Override
  public ByteBuffer get(BlockRef ref) {
    CorruptBlockException corrupt = null;
    for (int i = 0; i < pool.size(); i++) {
      BlockStore store = pool.store(pool.at(ref, i));
      try {
        ByteBuffer b = store.get(ref);
        if (b != null) {
          return b;
        }
      } catch (CorruptBlockException e) {
        corrupt = e;
      }
    }
    if (corrupt != null) {
      throw corrupt;
    }
    return null;
  }

  /**
   * A delete from the network: authorized by the cluster token, or by an epoch of the volume
   * that this peer accepts (see the class comment). Returns whether there was a copy.
   *
   * @param epoch the sender's fencing epoch for {@code ref}'s volume, or 0 for none
   * @param token the cluster token the sender presented, or null
   * @throws UnauthorizedException with neither; {@link StaleEpochException} for a stale or
   *     unconfirmed epoch
   */
  @Override
  public boolean delete(BlockRef ref, long epoch, byte[] token) {
    if (token != null && token.length > 0) {
      if (clusterToken == null || !MessageDigest.isEqual(clusterToken, token)) {
        throw new UnauthorizedException("delete of " + ref + " refused by peer " + nodeId
            + ": wrong cluster token");
      }
    } else if (epoch > 0) {
      admit(ref.volumeId(), epoch, "delete");
    } else {
      throw new UnauthorizedException("delete of " + ref + " refused by peer " + nodeId
          + ": it carries neither the cluster token nor the volume's epoch");
    }
    return delete(ref);
  }

  /** Removes every copy (a trusted, local caller); returns whether there was one. */
  public boolean delete(BlockRef ref) {
    boolean any = false;
    for (int i = 0; i < pool.size(); i++) {
      any |= pool.delete(i, ref);
    }
    if (any) {
      pool.deleted(); // a store reuses deleted space only after a flush: the pool makes one
    }
    return any;
  }

  /** Whether any store holds the ref (index membership: not read, maybe not yet durable). */
  @Override
  public boolean contains(BlockRef ref) {
    return pool.holder(ref) >= 0;
  }

  /**
   * For each ref, whether this peer holds a copy that is durable and reads back with a good
   * checksum: first every store holding one of them is flushed if it is dirty (so each copy
   * found is covered by a successful barrier), then each copy is read and verified.
   *
   * @throws TorusException if a needed barrier fails (nothing can be confirmed then)
   */
  @Override
  public boolean[] containsVerified(List<BlockRef> refs) {
    int[] holders = new int[refs.size()];
    boolean[] flush = new boolean[pool.size()];
    for (int i = 0; i < holders.length; i++) {
      // a copy whose put is still running is not counted: its flusher may not know it yet,
      // so the barrier below might not cover it; one not running was counted before it left.
      // The holder is looked up first: a put that made it visible is in putting until done.
      int h = pool.holder(refs.get(i));
      holders[i] = h >= 0 && putting.containsKey(refs.get(i)) ? -1 : h;
      if (holders[i] >= 0) {
        flush[holders[i]] = true;
      }
    }
    for (int s = 0; s < flush.length; s++) {
      if (flush[s] && pool.dirty(s)) {
        pool.barrier(s);
      }
    }
    boolean[] out = new boolean[holders.length];
    for (int i = 0; i < holders.length; i++) {
      if (holders[i] < 0) {
        continue;
      }
      try {
        out[i] = pool.store(holders[i]).get(refs.get(i)) != null;
      } catch (TorusException e) {
        out[i] = false; // corrupt or unreadable: not a copy anyone may count on
      }
    }
    return out;
  }

  /**
   * Up to {@code max} refs of a volume after {@code after} (null: from the start), ascending
   * and distinct: a merge of each store's ordered page ({@link BlockStore#list(long,
   * BlockRef, int)}), so one page costs its size (times the number of stores), not the
   * volume's.
   */
  @Override
  public ListPage list(long volumeId, BlockRef after, int max) {
    if (max < 1) {
      throw TorusException.invalid("max < 1: " + max);
    }
    List<List<BlockRef>> pages = new ArrayList<>(pool.size());
    for (BlockStore s : pool.stores()) {
      pages.add(s.list(volumeId, after, max + 1));
    }
    return OrderedPages.merge(pages, max);
  }

  /** Barrier: every put and delete that returned before this call is durable on return. */
  @Override
  public void flush() {
    pool.flush();
  }

  /**
   * Appends a flush-journal entry once the epoch is admitted; returns when it is durable. See
   * {@link PeerService#journalAppend} and {@link JournalTable#append}.
   */
  @Override
  public void journalAppend(long volumeId, long epoch, long generation, long checkpoint,
      ByteBuffer entry) {
    journal.append(volumeId, epoch, generation, checkpoint, entry,
        () -> admit(volumeId, epoch, "journal append"));
  }

  /**
   * Admits the epoch, then answers the volume's journal entries above {@code after}; epoch 0
   * reads them without fencing (a reader). See {@link PeerService#journalFence}.
   */
  @Override
  public List<JournalRecord> journalFence(long volumeId, long epoch, long after) {
    return journal.fence(volumeId, after, epoch == 0 ? () -> { }
        : () -> admit(volumeId, epoch, "journal fence"));
  }

  /** Closes the journal's file; the stores belong to the caller and stay open. */
  @Override
  public void close() {
    journal.close();
  }

  /** Capacity and use over all stores. */
  @Override
  public PeerStats stats() {
    return new PeerStats(nodeId, pool.capacity(), pool.used());
  }
}
