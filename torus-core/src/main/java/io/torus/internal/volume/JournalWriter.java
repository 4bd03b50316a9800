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
    changes.putAll(changesOf(journal, entries, volumeId, volume, earlier));
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
   * Starts appending a flush's changes. The future completes with true once every peer has
   * the entry, with false if the journal failed (it is then unusable for a while and the
   * caller commits the head; the entry may be on some peers), and fails only with a
   * {@link LeaseLostException} if a peer has seen a newer writer. Never on an event loop's
   * thread is anything waited for here.
   *
   * @param checkpoint the stored head's generation (peers drop entries at or below it)
   */
  java.util.concurrent.CompletableFuture<Boolean> startAppend(long generation,
      NavigableMap<Long, BlockRef> changes, long checkpoint) {
    byte[] entry = new JournalEntry(volumeId, generation, changes).encode();
    List<String> to = peers;
    java.util.concurrent.CompletableFuture<Void> sent;
    try {
      sent = journal.append(to, volumeId, lock.epoch(), generation, checkpoint, entry);
    } catch (RuntimeException e) {
      sent = java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    return sent.handle((v, e) -> {
      if (e == null) {
        return true;
      }
      Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
          ? e.getCause() : e;
      if (t instanceof LeaseLostException) {
        throw new java.util.concurrent.CompletionException(t);
      }
      warnings.warn("journal append " + volume, "volume '{}': flush journal append to {} "
          + "failed; committing the head instead (and for {} s): {}", volume, to,
          RETRY_NANOS / 1_000_000_000L, t.toString());
      return false;
    });
  }

  /** After a failed append (see {@link #startAppend}): flushes commit the head for a while. */
  void failed() {
    peers = List.of();
    backOff();
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
        return new HeadAndJournal(h, changesOf(journal, entries, volumeId, volume,
            recorded));
      }
      if (attempt == 9) {
        throw new TorusException(io.torus.ErrorCode.EIO, "volume '" + volume + "': its head "
            + "moved during each of 10 reads of its flush journal; try again", null, true);
      }
      h = again;
    }
  }

  /**
   * The changes of {@code entries} merged in generation order, leaving out every entry that
   * names a block with no durable copy: the flushes those entries belong to were never
   * acknowledged (an acknowledged flush's blocks were durable before it was), and a later
   * entry holds every block such an entry changed, since a failed flush's blocks go back into
   * the dirty map and the next flush commits them again. Throws EIO (retryable) if a block's
   * copies cannot all be asked: then nothing can be decided.
   */
  static NavigableMap<Long, BlockRef> changesOf(FlushJournal journal,
      NavigableMap<Long, byte[]> entries, long volumeId, String volume, List<String> from) {
    List<JournalEntry> decoded = new java.util.ArrayList<>(entries.size());
    java.util.Set<BlockRef> refs = new java.util.HashSet<>();
    for (var e : entries.entrySet()) {
      JournalEntry je = JournalEntry.decode(e.getValue(), volumeId, "peers " + from);
      if (je.generation() != e.getKey()) {
        throw new TorusException(io.torus.ErrorCode.EIO, "flush journal entry of generation "
            + je.generation() + " stored as generation " + e.getKey() + " (volume '" + volume
            + "')");
      }
      decoded.add(je);
      je.changes().values().stream().filter(java.util.Objects::nonNull).forEach(refs::add);
    }
    java.util.Map<BlockRef, FlushJournal.Presence> found = refs.isEmpty() ? java.util.Map.of()
        : journal.locate(refs);
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (JournalEntry je : decoded) {
      BlockRef absent = null;
      for (BlockRef r : je.changes().values()) {
        FlushJournal.Presence p = r == null ? FlushJournal.Presence.PRESENT : found.get(r);
        if (p == FlushJournal.Presence.UNKNOWN) {
          throw new TorusException(io.torus.ErrorCode.EIO, "volume '" + volume + "': block "
              + r + " of flush journal entry " + je.generation() + " has no durable copy on"
              + " the peers that answered, and some of its peers did not answer; try again"
              + " when they are back", null, true);
        }
        if (p == FlushJournal.Presence.ABSENT && absent == null) {
          absent = r;
        }
      }
      if (absent != null) {
        log.warn("volume '{}': left out flush journal entry {}: its block {} has no durable "
            + "copy (the flush was never acknowledged)", volume, je.generation(), absent);
        continue;
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
