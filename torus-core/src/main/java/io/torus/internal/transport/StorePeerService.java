package io.torus.internal.transport;

import io.torus.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.ring.Hash64;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a peer does with the requests it serves: one copy of each block on one of the node's
 * stores (chosen by the ref's hash), fencing by epoch per volume.
 *
 * <p>Thread-safe; methods block on store I/O and run on the server's worker threads.
 *
 * <p>Fencing: a put carrying an epoch below the highest this peer has accepted for the
 * volume throws {@link StaleEpochException}; a higher one is persisted before the put is
 * stored. A <em>repair</em> put (a copy of a block read and verified elsewhere, sent to
 * replace a missing or corrupt copy) skips the check: it can only restore bytes the ref
 * already names, and replaces whatever copy this peer holds.
 */
public final class StorePeerService {
  private final String nodeId;
  private final List<BlockStore> stores;
  private final AtomicBoolean[] dirty;
  private final EpochTable epochs;

  /**
   * @param nodeId this peer's id
   * @param stores the stores, in a fixed order; at least one
   * @param epochFile where the epoch table is persisted, or null to keep it in memory
   */
  public StorePeerService(String nodeId, List<BlockStore> stores, Path epochFile) {
    if (stores.isEmpty()) {
      throw TorusException.invalid("a peer needs at least one store");
    }
    this.nodeId = nodeId;
    this.stores = List.copyOf(stores);
    this.dirty = new AtomicBoolean[stores.size()];
    for (int i = 0; i < dirty.length; i++) {
      dirty[i] = new AtomicBoolean();
    }
    this.epochs = new EpochTable(epochFile);
  }

  private int home(BlockRef ref) {
    return (int) Long.remainderUnsigned(Hash64.ref(ref), stores.size());
  }

  /** Stores one copy; see the class comment for fencing and repair. */
  public void put(BlockRef ref, long epoch, ByteBuffer data, int crc32c, boolean repair) {
    if (!repair && !epochs.admit(ref.volumeId(), epoch)) {
      throw new StaleEpochException("stale epoch " + epoch + " for volume " + ref.volumeId()
          + ": peer " + nodeId + " has accepted epoch " + epochs.highest(ref.volumeId()));
    }
    int s = home(ref);
    if (repair) {
      for (int i = 0; i < stores.size(); i++) {
        if (stores.get(i).delete(ref)) {
          dirty[i].set(true);
        }
      }
    }
    stores.get(s).put(ref, data, crc32c);
    dirty[s].set(true); // after the put: a barrier that clears the flag first covers it
  }

  /** The highest epoch accepted for a volume (0 if none). */
  public long highestEpoch(long volumeId) {
    return epochs.highest(volumeId);
  }

  /**
   * The block, or null if no store holds it. Throws {@link CorruptBlockException} if the only
   * copies found fail their checksum.
   */
  public ByteBuffer get(BlockRef ref) {
    int s = home(ref);
    CorruptBlockException corrupt = null;
    for (int i = 0; i < stores.size(); i++) {
      BlockStore store = stores.get((s + i) % stores.size());
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

  /** Removes every copy; returns whether there was one. */
  public boolean delete(BlockRef ref) {
    boolean any = false;
    for (int i = 0; i < stores.size(); i++) {
      if (stores.get(i).delete(ref)) {
        dirty[i].set(true);
        any = true;
      }
    }
    // A store reuses deleted space only after a flush: make sure one comes even when the
    // deleting client never sends a barrier (garbage collection, superseded blocks).
    if (any && deletes.incrementAndGet() % 256 == 0) {
      for (int i = 0; i < stores.size(); i++) {
        if (dirty[i].getAndSet(false)) {
          stores.get(i).flush();
        }
      }
    }
    return any;
  }

  private final java.util.concurrent.atomic.AtomicLong deletes =
      new java.util.concurrent.atomic.AtomicLong();

  /** Whether any store holds the ref. */
  public boolean contains(BlockRef ref) {
    for (BlockStore s : stores) {
      if (s.contains(ref)) {
        return true;
      }
    }
    return false;
  }

  /** Up to {@code max} refs of a volume after {@code after} (null: from the start), sorted. */
  public ListPage list(long volumeId, BlockRef after, int max) {
    List<BlockRef> all = new ArrayList<>();
    for (BlockStore s : stores) {
      s.forEach(volumeId, r -> {
        if (after == null || r.compareTo(after) > 0) {
          all.add(r);
        }
      });
    }
    all.sort(null);
    List<BlockRef> distinct = new ArrayList<>();
    for (BlockRef r : all) {
      if (distinct.isEmpty() || !distinct.get(distinct.size() - 1).equals(r)) {
        distinct.add(r);
      }
    }
    boolean more = distinct.size() > max;
    return new ListPage(more ? distinct.subList(0, max) : distinct, more);
  }

  /** Barrier: forces every store written since the last barrier. */
  public void flush() {
    for (int i = 0; i < stores.size(); i++) {
      if (dirty[i].getAndSet(false)) {
        try {
          stores.get(i).flush();
        } catch (RuntimeException e) {
          dirty[i].set(true);
          throw e instanceof TorusException ? e
              : new TorusException(ErrorCode.EIO, "flush of " + stores.get(i).name(), e);
        }
      }
    }
  }

  /** Capacity and use over all stores. */
  public PeerStats stats() {
    long cap = 0;
    long used = 0;
    for (BlockStore s : stores) {
      cap += s.capacity();
      used += s.used();
    }
    return new PeerStats(nodeId, cap, used);
  }
}
