package io.torus.internal.volume;

import io.torus.LeaseLostException;
import io.torus.TorusException;
import io.torus.internal.layer.FlushJournal;
import io.torus.internal.storage.RateLimitedLog;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * One writer's use of its volume's flush journal ({@link FlushJournal}): which peers hold it,
 * whether it is usable now, the append of a flush's changes, and the replay of a previous
 * writer's entries. See {@code src-docs/architecture.md}, "Flush journal".
 *
 * <p><b>Protocol.</b> The peers are recorded in the metadata service
 * ({@link MetadataService#setJournal}) before the first append; an append completes only on
 * all of them. A new writer fences the recorded peers with its epoch and reads their entries
 * above the head ({@link #replay}); it needs one answer: an entry whose append completed is on
 * every peer of the set. After the replay the writer commits the head, so the entries of an
 * earlier writer are never needed again.
 *
 * <p><b>Failure.</b> A refused epoch is a {@link LeaseLostException} (this writer is stale). Any
 * other failure of an append makes the journal unusable for {@link #RETRY_NANOS}: flushes commit
 * the head meanwhile, and the next head commit after that picks the peers again
 * ({@link #restart}).
 *
 * <p>Not thread-safe: used under the committer's flush lock.
 */
public final class JournalWriter {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);
  private static final RateLimitedLog warnings = RateLimitedLog.perSecond(log);
  /** How long after a failed append flushes commit the head before the journal is tried. */
  static final long RETRY_NANOS = 5_000_000_000L;
  /** {@code -Dtorus.volume.journal=false}: every flush commits the head, as without peers. */
  static final boolean ON = !"false".equals(System.getProperty("torus.volume.journal"));
  /** Changes one entry holds at most (an entry of about 512 KiB). */
  static final int MAX_ENTRY_CHANGES = 16_384;

  private final long volumeId;
  private final String volume;
  private final FlushJournal journal; // null: no journal for this handle
  private final MetadataService meta;
  private final VolumeLock lock;
  private final int copies;
  private final LongSupplier nanoTime;

  private List<String> peers = List.of(); // recorded and in use; empty: none
  private long retryAt; // with backingOff: when the journal may be tried again
  private boolean backingOff;
  private boolean recorded; // a record exists in the metadata service

  /**
   * @param journal the layer's journal, or null where there is none (then nothing is used)
   * @param copies peers of a journal (the volume's replication)
   */
  JournalWriter(long volumeId, String volume, FlushJournal journal, MetadataService meta,
      VolumeLock lock, int copies, LongSupplier nanoTime) {
    this.volumeId = volumeId;
    this.volume = volume;
    this.journal = ON && lock != null && meta.supportsJournal() ? journal : null;
    this.meta = meta;
    this.lock = lock;
    this.copies = copies;
    this.nanoTime = nanoTime;
  }

  /** Whether this handle may use a journal at all (a writer on a service and layer with one). */
  boolean enabled() {
    return journal != null;
  }

  /** Whether a flush of {@code changes} changes may go to the journal now. */
  boolean usable(int changes) {
    return !peers.isEmpty() && changes <= MAX_ENTRY_CHANGES;
  }

  /** Whether a journal record exists that a head commit covering everything may remove. */
  boolean recorded() {
    return recorded;
  }

  /**
   * Fences the recorded peers of an earlier writer and returns the changes of their entries
   * above {@code after} (the stored head's generation), merged in generation order; empty if
   * no journal is recorded.
   */
  NavigableMap<Long, BlockRef> replay(long after) {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    if (journal == null) {
      return changes;
    }
    List<String> earlier = meta.journal(volumeId);
    if (earlier.isEmpty()) {
      return changes;
    }
    recorded = true;
    NavigableMap<Long, byte[]> entries = journal.recover(earlier, volumeId, lock.epoch(), after);
    changes.putAll(changesOf(entries, volumeId, volume, earlier));
    if (!entries.isEmpty()) {
      log.info("volume '{}': replayed {} flush journal entries ({} changed blocks) from {}",
          volume, entries.size(), changes.size(), earlier);
    }
    return changes;
  }

  /**
   * After a head commit that covers every entry: picks the peers (again, if the journal was
   * unusable and its retry time has come) and records them. A failure to record leaves the
   * journal unused (flushes commit the head); a lost lock is thrown.
   */
  void restart() {
    if (journal == null || !peers.isEmpty()
        || (backingOff && nanoTime.getAsLong() - retryAt < 0)) {
      return;
    }
    backingOff = false;
    List<String> chosen = journal.choose(volumeId, copies);
    try {
      if (chosen.isEmpty()) {
        if (recorded) {
          meta.setJournal(lock, List.of());
          recorded = false;
        }
        backOff();
        return;
      }
      meta.setJournal(lock, chosen);
      recorded = true;
      peers = chosen;
    } catch (LeaseLostException e) {
      throw e;
    } catch (RuntimeException e) {
      backOff();
      warnings.warn("journal record " + volume, "volume '{}': cannot record the flush journal"
          + " peers {}; flushes commit the head meanwhile: {}", volume, chosen, e.toString());
    }
  }

  /**
   * Appends a flush's changes; returns false if the journal failed (it is then unusable for
   * a while, and the caller commits the head). Throws {@link LeaseLostException} if a peer
   * has seen a newer writer.
   *
   * @param checkpoint the stored head's generation (peers drop entries at or below it)
   */
  boolean append(long generation, NavigableMap<Long, BlockRef> changes, long checkpoint) {
    byte[] entry = new JournalEntry(volumeId, generation, changes).encode();
    try {
      io.torus.internal.Futures.join(journal.append(peers, volumeId, lock.epoch(), generation,
          checkpoint, entry));
      return true;
    } catch (LeaseLostException e) {
      throw e;
    } catch (RuntimeException e) {
      warnings.warn("journal append " + volume, "volume '{}': flush journal append to {} "
          + "failed; committing the head instead (and for {} s): {}", volume, peers,
          RETRY_NANOS / 1_000_000_000L, e.toString());
      peers = List.of();
      backOff();
      return false;
    }
  }

  private void backOff() {
    backingOff = true;
    retryAt = nanoTime.getAsLong() + RETRY_NANOS;
  }

  /** A head and the journaled changes above it, read together. */
  public record HeadAndJournal(Head head, NavigableMap<Long, BlockRef> changes) {}

  /**
   * For a read-only handle: the volume's head and the changes of the journal entries above
   * it, without fencing, so that the handle sees every flush that completed before it was
   * opened. Read again if the head moved meanwhile (a head commit lets peers drop entries).
   * Throws EIO if a recorded journal cannot be read from any of its peers.
   *
   * @param journal the layer's journal, or null where there is none
   */
  public static HeadAndJournal read(FlushJournal journal, MetadataService meta, long volumeId,
      String volume) {
    Head h = meta.head(volumeId);
    if (journal == null || !ON || !meta.supportsJournal()) {
      return new HeadAndJournal(h, new TreeMap<>());
    }
    for (int attempt = 0; ; attempt++) {
      List<String> recorded = meta.journal(volumeId);
      if (recorded.isEmpty()) {
        return new HeadAndJournal(h, new TreeMap<>());
      }
      NavigableMap<Long, byte[]> entries = journal.recover(recorded, volumeId, 0,
          h.generation());
      Head again = meta.head(volumeId);
      if (again.revision() == h.revision()) {
        return new HeadAndJournal(h, changesOf(entries, volumeId, volume, recorded));
      }
      if (attempt == 9) {
        throw new TorusException(io.torus.ErrorCode.EIO, "volume '" + volume + "': its head "
            + "moved during each of 10 reads of its flush journal; try again", null, true);
      }
      h = again;
    }
  }

  private static NavigableMap<Long, BlockRef> changesOf(NavigableMap<Long, byte[]> entries,
      long volumeId, String volume, List<String> from) {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (var e : entries.entrySet()) {
      JournalEntry je = JournalEntry.decode(e.getValue(), volumeId, "peers " + from);
      if (je.generation() != e.getKey()) {
        throw new TorusException(io.torus.ErrorCode.EIO, "flush journal entry of generation "
            + je.generation() + " stored as generation " + e.getKey() + " (volume '" + volume
            + "')");
      }
      changes.putAll(je.changes());
    }
    return changes;
  }

  /** On close, after a head commit that covers every entry: removes the record. */
  void remove() {
    if (recorded) {
      meta.setJournal(lock, List.of());
      recorded = false;
      peers = List.of();
    }
  }
}
