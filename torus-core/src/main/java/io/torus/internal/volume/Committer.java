package io.torus.internal.volume;

import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.TorusException;
import io.torus.internal.map.BlockMap;
import io.torus.internal.storage.RateLimitedLog;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The flush (commit) protocol of one writer: freezes the dirty blocks, writes them and the
 * changed map nodes as blocks of the pending generation, and swaps the head in the metadata
 * service under the writer lock.
 *
 * <p><b>Invariants.</b> Refs of the pending generation are unique for all time: every
 * generation this writer uses lies in the range the metadata service reserved for it durably
 * ({@link Head#reserved()}, reserved when the lock was taken and extended by each commit),
 * each flush attempt moves the pending generation up by one ({@link DirtyBuffer#freeze}), and
 * a generation is never handed out twice. A flush covers every write completed before it was
 * called.
 *
 * <p><b>Concurrency.</b> Flushes are serialised by {@code flushLock}, which guards
 * {@code head} and the list of doubtful commits ({@link CommitDoubt}). The state swaps take the
 * buffer's phase lock for an instant each ({@link DirtyBuffer}).
 *
 * <p><b>Failure.</b> A flush that fails before its commit puts its frozen blocks back under
 * the newer dirty ones: nothing is lost and the flush reports the error. A refused commit
 * (lease lost, head changed) fences the volume: every later write and flush fails. A commit
 * whose outcome is unknown is read back; if still unknown it is recorded as doubtful, and a
 * later commit that finds the head moved adopts it if it is exactly a doubtful one of ours.
 * Running out of reserved generations (flushes failing in a row) fences the volume too.
 */
final class Committer {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(VolumeEngine.class);

  private final long volumeId;
  private final String volume;
  private final MetadataService meta;
  private final VolumeLock lock;
  private final DirtyBuffer buffer;
  private final Lifecycle lifecycle;
  private final BlockIo io;
  private final CommitDoubt doubt;
  private final Executor ioPool;
  private final ReadPath reader;
  private final LongSupplier size;
  private final int blockSize;
  private final int shift;

  /** How long flushes may go to the journal before one commits the head (a checkpoint). */
  static final long CHECKPOINT_NANOS = 2_000_000_000L;
  /** Journaled changes past which a flush commits the head. */
  static final int MAX_JOURNALED = 65_536;

  private final JournalWriter journal;
  private final VolumeMetrics metrics;
  private final LongSupplier nanoTime;
  private final ReentrantLock flushLock = new ReentrantLock();
  private Head head; // the last head commit (or the lock's head); guarded by flushLock
  private long headCommittedAt; // nanoTime of the last head commit; guarded by flushLock

  /**
   * @param lock the writer lock (null for a read-only handle, which never flushes)
   * @param head the head the buffer starts from
   * @param ioPool runs the parallel block writes of a commit
   * @param size the volume's current size in bytes
   */
  Committer(long volumeId, String volume, int blockSize, MetadataService meta, VolumeLock lock,
      Head head, DirtyBuffer buffer, ReadPath reader, Lifecycle lifecycle, BlockIo io,
      CommitDoubt doubt, JournalWriter journal, VolumeMetrics metrics, LongSupplier nanoTime,
      Executor ioPool, LongSupplier size) {
    this.volumeId = volumeId;
    this.volume = volume;
    this.blockSize = blockSize;
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.meta = meta;
    this.lock = lock;
    this.head = head;
    this.buffer = buffer;
    this.reader = reader;
    this.lifecycle = lifecycle;
    this.io = io;
    this.doubt = doubt;
    this.ioPool = ioPool;
    this.size = size;
    this.journal = journal;
    this.metrics = metrics;
    this.nanoTime = nanoTime;
    this.headCommittedAt = nanoTime.getAsLong();
  }

  /**
   * For a writer, before anything else: replays an earlier writer's flush journal (fencing
   * its peers) and commits it into the head, then records this writer's journal peers.
   * Throws if the journal cannot be read (the volume must not be written then).
   */
  void open() {
    if (!journal.enabled()) {
      return;
    }
    flushLock.lock();
    try {
      long stored = meta.head(volumeId).generation();
      buffer.replay(journal.replay(stored));
      if (journal.recorded()) {
        flushOnce(true, false); // the head covers the replayed entries: none is needed again
      }
      journal.restart();
    } finally {
      flushLock.unlock();
    }
  }

  /**
   * Commits what the flush journal holds into the head (snapshots and other nodes see it
   * then); what is buffered stays buffered.
   */
  void commitJournaled() {
    flushLock.lock();
    try {
      if (!buffer.state().journaled.isEmpty()) {
        flushOnce(true, false);
      }
    } catch (DoubtSettled settled) {
      commitJournaled();
    } finally {
      flushLock.unlock();
    }
  }

  /**
   * Commits the journaled changes into the head if the last head commit is
   * {@link #CHECKPOINT_NANOS} old and no flush is running (a writer that stopped flushing:
   * snapshots and other nodes then see its last flushes within about that long). Called from
   * a timer; a failure is logged and changes nothing (the journaled flushes stay durable in
   * the journal, and the next flush or close commits them).
   */
  void commitJournaledIfIdle() {
    if (buffer.state().journaled.isEmpty()
        || nanoTime.getAsLong() - headCommittedAt < CHECKPOINT_NANOS || !flushLock.tryLock()) {
      return;
    }
    try {
      if (!buffer.state().journaled.isEmpty() && lifecycle.fenced() == null
          && !lifecycle.isClosing()) {
        meta.checkLock(lock); // no round trip: a writer that may have lost its lease waits
        flushOnce(true, false);
      }
    } catch (LeaseLostException e) {
      // the session's end fences the handle; nothing to commit from here
    } catch (RuntimeException e) {
      if (lifecycle.fenced() == null && !lifecycle.isClosing()) {
        idleWarnings.warn("idle head commit " + volume, "volume '{}': committing the flush "
            + "journal into the head failed; its flushes stay in the journal: {}", volume,
            e.toString());
      }
    } finally {
      flushLock.unlock();
    }
  }

  private static final RateLimitedLog idleWarnings = RateLimitedLog.perSecond(log);

  /**
   * Closing: commits everything buffered and journaled into the head in one commit, then
   * removes the journal record.
   */
  void commitAll() {
    flushLock.lock();
    try {
      VolumeState s = buffer.state();
      flushOnce(!s.journaled.isEmpty() || !s.dirty.isEmpty(), true);
      journal.remove();
    } catch (DoubtSettled settled) {
      commitAll();
    } finally {
      flushLock.unlock();
    }
  }

  /** Commits every change buffered before the call, or throws. */
  void flush() {
    flushLock.lock();
    try {
      try {
        flushOnce(false, true);
      } catch (DoubtSettled settled) {
        flushOnce(false, true); // from the adopted head; a second moved head fences
      }
    } finally {
      flushLock.unlock();
    }
  }

  /**
   * Bounds the dirty map's size (not only its bytes): past
   * {@link DirtyBuffer#MAX_DIRTY_ENTRIES} changed blocks, commits them, as a flush would.
   * Committing early only makes data durable sooner. Skipped if a flush is already running (it
   * shrinks the map anyway).
   */
  void commitEarlyIfFull() {
    if (buffer.overfull() && flushLock.tryLock()) {
      try {
        flush();
      } catch (RuntimeException e) {
        // the changes stay buffered; the caller's next flush reports the problem
        log.warn("volume '{}': early commit of {} changed blocks failed: {}", volume,
            buffer.dirtyCount(), e.toString());
      } finally {
        flushLock.unlock();
      }
    }
  }

  /** Thrown by {@link #flushOnce} after adopting a head a doubtful commit of ours set. */
  private static final class DoubtSettled extends RuntimeException {
    DoubtSettled() {
      super(null, null, false, false);
    }
  }

  /**
   * @param toHead commit the head, even if nothing is dirty (the journaled changes)
   * @param withDirty commit what is dirty too (else only the journaled changes)
   */
  private void flushOnce(boolean toHead, boolean withDirty) {
    lifecycle.checkCommittable();
    buffer.deleteSuperseded();
    DirtyBuffer.Frozen f = withDirty ? buffer.freeze(this::reserve, toHead)
        : buffer.reserveOnly(this::reserve);
    if (f == null) { // nothing to commit: only make sure the lock is still ours
      try {
        meta.checkLock(lock);
      } catch (LeaseLostException e) {
        lifecycle.fence(e);
        throw lifecycle.fencedError(e);
      }
      return;
    }
    Map<Long, Entry> frozen = f.blocks();
    BlockRef root;
    try {
      root = commit(frozen, f.generation(), f.root(), toHead);
    } catch (RuntimeException e) {
      buffer.restore(frozen);
      if (e instanceof LeaseLostException) { // e.g. peers saw a newer writer's epoch
        lifecycle.fence((LeaseLostException) e);
      }
      if (e instanceof ConcurrentUpdateException && doubt.any()) {
        if (adoptDoubtfulHead()) {
          throw new DoubtSettled();
        }
        lifecycle.fence((ConcurrentUpdateException) e);
      }
      throw e;
    }
    if (root == JOURNALED) {
      metrics.journalCommits.increment();
      return;
    }
    metrics.headCommits.increment();
    buffer.committed(frozen, root);
    doubt.settled(); // this commit moved the head: a doubtful one can never apply
    headCommittedAt = nanoTime.getAsLong();
    journal.restart();
  }

  /** What {@link #commit} returns for a flush committed through the journal. */
  private static final BlockRef JOURNALED =
      new BlockRef(Long.MAX_VALUE, Long.MAX_VALUE, 0, BlockKind.MAP);

  /**
   * Whether a flush of {@code changes} changes in generation {@code g} may commit through the
   * journal: it is usable, no head commit is in doubt (adopting one must find nothing
   * journaled above it), and no checkpoint is due (by time, by journaled changes, or by
   * generations: head commits extend the reserved range).
   */
  private boolean journalFits(int changes, long g) {
    return journal.usable(changes) && !doubt.any()
        && nanoTime.getAsLong() - headCommittedAt < CHECKPOINT_NANOS
        && buffer.state().journaled.size() + changes <= MAX_JOURNALED
        && g <= head.generation() + Head.RESERVATION / 2;
  }

  /** Refuses (and fences) a generation past the range reserved for this writer. */
  private void reserve(long generation) {
    if (generation + 1 > head.reserved()) {
      TorusException e = new TorusException(ErrorCode.EIO, "volume '" + volume
          + "': " + (generation - head.generation()) + " flushes failed in a row and used"
          + " up the generations reserved for this writer; reopen the volume");
      lifecycle.fence(e);
      throw e;
    }
  }

  /**
   * After a commit found the head moved while commits of ours were in doubt: if the head is
   * exactly one of them (etcd applied it after our read-back; only the lock holder writes the
   * head, and the lock is still ours), continues from it. The buffered changes, the doubtful
   * commit's own ones included, are then committed on top of it by the next attempt, so the
   * order of writes is kept. Returns false if the head is anything else.
   */
  private boolean adoptDoubtfulHead() {
    Head now;
    try {
      now = meta.head(volumeId);
    } catch (RuntimeException e) {
      return false;
    }
    if (!doubt.isDoubtful(now)) {
      return false;
    }
    head = now;
    buffer.adopt(now.root());
    // the doubt stays: the adopted head references early-written blocks the dirty map holds
    // too, so none may be deleted as superseded before the next commit replaces it
    doubt.adopted();
    log.warn("volume '{}': the head commit of generation {} whose outcome was unknown was "
        + "applied after all; going on from it", volume, now.generation());
    return true;
  }

  /**
   * Writes the frozen blocks, then either appends their changes to the journal (returns
   * {@link #JOURNALED}; the buffer has moved them to its journaled layer) or writes the map
   * nodes of the journaled and frozen changes and swaps the head (returns the new root).
   */
  private BlockRef commit(Map<Long, Entry> frozen, Generation g, BlockRef below,
      boolean toHead) {
    NavigableMap<Long, BlockRef> changes = new TreeMap<>();
    List<BlockIo.Put> puts = new ArrayList<>();
    List<Long> partial = new ArrayList<>();
    for (Map.Entry<Long, Entry> me : frozen.entrySet()) {
      if (me.getValue() instanceof Entry.Mem && ((Entry.Mem) me.getValue()).written != null) {
        partial.add(me.getKey());
      }
    }
    // a partial block is merged over its committed content, fetched together first
    Map<BlockRef, ByteBuffer> bases = partial.isEmpty() ? Map.of()
        : reader.fetchRootsOf(below, partial);
    int inMemory = 0;
    for (Entry e : frozen.values()) {
      inMemory += e instanceof Entry.Mem ? 1 : 0;
    }
    java.util.Iterator<BlockRef> refs = g.nextData(inMemory).iterator();
    for (Map.Entry<Long, Entry> me : frozen.entrySet()) {
      Entry e = me.getValue();
      if (e instanceof Entry.Mem) {
        BlockRef ref = refs.next();
        changes.put(me.getKey(), ref);
        Entry.Mem m = (Entry.Mem) e;
        byte[] data = m.written == null ? m.data
            : m.over(reader.inRoot(below, me.getKey(), false, bases));
        puts.add(new BlockIo.Put(ref, data));
      } else {
        changes.put(me.getKey(), e == Entry.HOLE ? null : ((Entry.Stored) e).ref);
      }
    }
    if (!toHead && journalFits(changes.size(), g.number)) {
      if (journaled(frozen, changes, puts, g)) {
        return JOURNALED;
      }
      // the blocks are durable: only the head commit is left
    } else {
      io.putAll(puts, ioPool);
    }
    NavigableMap<Long, BlockRef> all = buffer.journaledChanges();
    all.putAll(changes);
    long blocks = (size.getAsLong() + blockSize - 1) >>> shift;
    BlockRef root = BlockMap.apply(io::node, node -> {
      BlockRef ref = g.next(BlockKind.MAP);
      io.putNode(ref, node);
      return ref;
    }, head.root(), blocks, all);
    io.flush();
    head = commitHead(root, g.number);
    return root;
  }

  /**
   * Commits a flush through the journal in one round: the frozen in-memory blocks are put
   * durably (each peer forces its copy before it answers), a barrier covers the blocks
   * written out early, and the entry is appended, all at once. The flush is done when all of
   * them are. The entry may thus land before its blocks are durable; a replay leaves out an
   * entry naming a block with no durable copy (see {@link JournalWriter}), which is never one
   * of an acknowledged flush. Returns false if only the append failed (the blocks are durable
   * and the caller commits the head); throws if a block could not be made durable (the flush
   * fails), or a {@link LeaseLostException} if this writer is stale. Whenever the entry may
   * have landed without the flush succeeding through it, no block it names is deleted until
   * a head commit.
   */
  private boolean journaled(Map<Long, Entry> frozen, NavigableMap<Long, BlockRef> changes,
      List<BlockIo.Put> puts, Generation g) {
    // no round trip: refuses a writer whose lease may have run out (a newer writer may be
    // replaying the journal); the peers refuse one whose successor fenced them
    meta.checkLock(lock);
    List<CompletableFuture<Void>> data = new ArrayList<>(io.startDurablePuts(puts));
    data.add(io.flushLater());
    CompletableFuture<Boolean> appended = journal.startAppend(g.number, changes,
        head.generation());
    RuntimeException dataFailed = null;
    try {
      BlockIo.joinAll(data);
    } catch (RuntimeException e) {
      dataFailed = e;
    }
    boolean ok;
    try {
      ok = appended.join();
    } catch (java.util.concurrent.CompletionException e) {
      doubt.journalInDoubt();
      throw TorusException.of(e.getCause() != null ? e.getCause() : e); // a stale writer
    }
    if (!ok) {
      journal.failed();
      doubt.journalInDoubt();
    }
    if (dataFailed != null) {
      doubt.journalInDoubt();
      throw dataFailed;
    }
    if (!ok) {
      return false;
    }
    buffer.journaled(frozen, changes);
    return true;
  }

  private Head commitHead(BlockRef root, long generation) {
    try {
      return meta.commitHead(lock, head, root, generation);
    } catch (LeaseLostException | ConcurrentUpdateException e) {
      if (!(e instanceof ConcurrentUpdateException && doubt.any())) {
        lifecycle.fence(e); // a moved head while in doubt is looked at by flushOnce first
      }
      throw e;
    } catch (TorusException e) {
      // The outcome is unknown (e.g. a timeout): read the head back to learn it.
      Head now;
      try {
        now = meta.head(volumeId);
      } catch (RuntimeException again) {
        // Whether the head moved is unknown: the buffered blocks may or may not be committed,
        // so this handle cannot safely go on. Fence it; reopening reads the truth.
        e.addSuppressed(again);
        lifecycle.fence(e);
        throw e;
      }
      if (now.generation() == generation && Objects.equals(now.root(), root)) {
        return now;
      }
      // Not applied yet, but it may still be (etcd can apply a request after its client timed
      // out). Its blocks must outlive the doubt: see CommitDoubt. A later commit succeeds
      // only if the head is still the one read here, which also settles the doubt.
      doubt.add(root, generation);
      log.warn("volume '{}': head commit of generation {} failed with an unknown outcome "
          + "({}); keeping every block it may reference until a later commit", volume,
          generation, e.toString());
      throw e;
    }
  }
}
