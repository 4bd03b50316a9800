package io.torus.internal.storage;

import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * A persistent {@link BlockStore} in a directory: preallocated data files, an append-only
 * index log and a superblock.
 *
 * <pre>
 * directory/
 * +-----------------+------------------------------------------------------+
 * | store.lock      | empty; an open store holds an exclusive lock on it   |
 * | store.sb        | superblock: magic, version, file count, units/file   |
 * | index.log       | index log: header, then 40-byte put/delete records   |
 * | data-00000.dat  | preallocated (sparse) data file, 4 KiB units         |
 * | data-00001.dat  | ... one per data file                                |
 * +-----------------+------------------------------------------------------+
 *
 * one stored block in a data file (starts on a 4 KiB unit boundary):
 * +------------------+------------------+--------------------------------+
 * | header, 48 bytes | payload, n bytes | padding to the next 4 KiB unit |
 * +------------------+------------------+--------------------------------+
 * </pre>
 *
 * <p>Byte layouts: {@link Superblock}, {@link IndexLog}, {@link IndexRecord},
 * {@link BlockHeader}, and {@code src-docs/formats.md}.
 *
 * <p><b>Invariants.</b> The live index (ref to {@link Location}) is the replay of the durable
 * index log plus the pending records not yet appended. An extent is either free in the
 * {@link ExtentAllocator}, or owned by exactly one live ref, or owned by a deleted ref whose
 * delete record is not yet durable ("pending free"). Space becomes free again only after the
 * delete record is forced, so no durable record can ever point at another block's bytes; and
 * every read checks that the header names the ref asked for and that the payload's CRC32C
 * matches. A put record is appended only after the block's data was forced. A put over a
 * corrupt stored copy writes the new copy to new space and switches the index to it; the old
 * extent is pending free like a deleted block's, so a crash leaves the old or the new copy.
 *
 * <p><b>Concurrency.</b> Reads look the ref up in a concurrent hash map ({@code O(1)}) and do
 * one positional read; they take no exclusive lock. A put assembles header and payload in a
 * per-thread direct buffer ({@link ScratchBuffer}) and writes them with one positional write
 * outside any lock, marks the data file dirty, then registers the ref and its pending record
 * under a short monitor ({@code meta}), which deletes also use; every change of the index
 * happens under {@code meta} and updates both its hash map (lookups) and its ordered map (only
 * {@link #list}, {@link #forEach} and compaction read it). {@code meta} is never held across
 * I/O. Flushes are group-committed ({@link GroupCommit}): one <em>round</em> runs at a time,
 * with no lock held; it takes the pending records under {@code meta}, forces the data files
 * written since the previous round, appends the records with one write and forces the log,
 * then frees the space of the flushed deletes. A flush returns after a round that began after
 * it was called succeeded (so after forces that began after every put and delete that
 * returned before it); flushes that arrive while a round runs share the next one. A
 * compaction is such a round: it takes the pending records and a copy of the index under
 * {@code meta}, then forces the data and writes, forces and renames the new log: puts,
 * deletes and reads go on meanwhile, and their records stay pending for the next round,
 * appended to the new log. A read-write lock guards only the open/closed state: every
 * operation holds its shared side (which only {@link #close()} contends for), {@code close}
 * the exclusive side, and runs the last round under it.
 *
 * <p><b>Checks.</b> Argument checks (size, the put's checksum, nulls) are
 * {@link CheckedBlockStore}'s; the node never uses this store without it.
 *
 * <p><b>Failure.</b> Before a flush nothing is torn: a crash leaves each ref either absent
 * (its record was not durable), or whole and correct, or failing its checksum
 * ({@link CorruptBlockException}), never reading another block's bytes. A torn index tail is
 * truncated at open; a damaged index record before it, an unreadable superblock or index
 * header fail the open with {@link ErrorCode#EIO} and change nothing (see {@link IndexLog}
 * for salvage). If a flush fails for a reason other than an
 * interrupt, the store refuses further puts, deletes and flushes (the outcome of a failed
 * {@code fsync} cannot be trusted: a retried one may succeed without the lost pages), also
 * flushes already waiting for that round; it keeps serving reads and must be reopened.
 * That failure is logged at WARN with its cause.
 */
public final class FileBlockStore implements BlockStore {
  /** Allocation unit in bytes. */
  public static final int UNIT = 4096;
  /** Largest payload accepted: 4 MiB of data plus 64 KiB for larger map nodes. */
  public static final int MAX_BLOCK_SIZE = 4 * 1024 * 1024 + 64 * 1024;
  private static final RateLimitedLog warnings = new RateLimitedLog(
      LoggerFactory.getLogger(FileBlockStore.class), Duration.ofSeconds(10), System::nanoTime);

  /** What a stored copy is, compared with the bytes of a put of the same ref. */
  private enum Stored { SAME, CORRUPT, GONE }

  private final String name;
  private final Superblock geometry;
  private final DataFile[] files;
  private final IndexLog log;
  private final ExtentAllocator allocator;
  private final long compactMinRecords;
  private final AutoCloseable lock;
  /** Ref to location, for lookups; changed only under {@link #meta}, with {@link #ordered}. */
  private final ConcurrentHashMap<BlockRef, Location> index;
  /** The same entries in ref order, for paging and compaction; changed only under meta. */
  private final ConcurrentSkipListMap<BlockRef, Location> ordered;
  /** Per data file: 1 if written since the last round took its flag. */
  private final AtomicIntegerArray dirty;
  private final Object meta = new Object();
  private final GroupCommit rounds = new GroupCommit();
  private final ReentrantReadWriteLock state = new ReentrantReadWriteLock();
  private List<IndexRecord> pending = new ArrayList<>(); // guarded by meta
  private List<Location> pendingFree = new ArrayList<>(); // guarded by meta
  private volatile TorusException failure;
  private volatile ForceHook forceHook = ForceHook.NONE;
  private boolean closed; // guarded by state

  FileBlockStore(String name, Superblock geometry, DataFile[] files, IndexLog log,
      ConcurrentSkipListMap<BlockRef, Location> index, ExtentAllocator allocator,
      long compactMinRecords, AutoCloseable lock) {
    this.name = name;
    this.lock = lock;
    this.geometry = geometry;
    this.files = files;
    this.log = log;
    this.ordered = index;
    this.index = new ConcurrentHashMap<>(index);
    this.dirty = new AtomicIntegerArray(files.length);
    this.allocator = allocator;
    this.compactMinRecords = compactMinRecords;
  }

  /**
   * Opens the store in {@code directory}, creating it with {@code capacity} bytes spread over
   * {@code fileCount} data files if it does not exist yet. An existing store keeps the
   * geometry it was created with.
   *
   * @throws TorusException {@link ErrorCode#EIO} if the store's files cannot be read or are
   *     damaged beyond a torn index tail; {@link ErrorCode#EINVAL} for a bad geometry
   */
  public static FileBlockStore open(Path directory, long capacity, int fileCount) {
    return FileStoreOpener.open(directory, capacity, fileCount,
        FileStoreOpener.DEFAULT_COMPACT_MIN_RECORDS);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public StoreCapabilities capabilities() {
    return new StoreCapabilities(true, MAX_BLOCK_SIZE);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Expects the arguments {@link CheckedBlockStore} checks (size, checksum, non-null).
   * A put of a stored ref reads and verifies the stored copy: the same bytes are a no-op, a
   * valid copy with other bytes throws {@link RefConflictException}, and a corrupt copy is
   * replaced (new space first; the old extent is freed only after the next flush).
   */
  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    Lock l = enter();
    try {
      checkWritable();
      while (true) { // each retry means another thread changed the ref meanwhile
        Location cur = index.get(ref);
        if (cur == null) {
          if (write(ref, data, crc32c, null)) {
            return;
          }
          continue;
        }
        Stored stored = compare(ref, cur, data, crc32c);
        if (stored == Stored.SAME) {
          return;
        }
        if (stored == Stored.CORRUPT && write(ref, data, crc32c, cur)) {
          return;
        }
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * Compares the copy of {@code ref} stored at {@code cur} with {@code data}.
   *
   * @throws RefConflictException if the stored copy is valid and holds other bytes
   */
  private Stored compare(BlockRef ref, Location cur, ByteBuffer data, int crc32c) {
    ByteBuffer buf = ScratchBuffer.take(BlockHeader.SIZE + cur.length());
    if (load(ref, cur, buf) != null) {
      return cur.equals(index.get(ref)) ? Stored.CORRUPT : Stored.GONE;
    }
    if (buf.duplicate().position(BlockHeader.SIZE).equals(data.duplicate())) {
      return Stored.SAME;
    }
    throw new RefConflictException(String.format("put %s into block store %s: the store"
        + " holds a valid copy with other content (%d bytes, CRC32C %08x; given %d bytes,"
        + " CRC32C %08x); refs are immutable, nothing was stored", ref, name, cur.length(),
        BlockHeader.read(buf, 0).payloadCrc(), data.remaining(), crc32c));
  }

  /**
   * Writes {@code data} to new space and registers it: as a new ref if {@code replacing} is
   * null, else in place of the corrupt copy at {@code replacing}. Returns false, storing
   * nothing, if the ref changed meanwhile (the caller looks again).
   *
   * @throws TorusException ENOSPC if there is no room, EIO if the write fails; a stored copy
   *     stays as it was
   */
  private boolean write(BlockRef ref, ByteBuffer data, int crc32c, Location replacing) {
    int len = data.remaining();
    Location loc = allocator.allocate(Location.unitsFor(len), len);
    if (loc == null) {
      throw noSpace(ref, len);
    }
    boolean registered = false;
    DataFile file = files[loc.file()];
    try {
      ByteBuffer extent = ScratchBuffer.take(BlockHeader.SIZE + len);
      BlockHeader.write(extent, ref, len, crc32c);
      extent.put(data.duplicate()).flip();
      file.writeFully(extent, loc.offset()); // header and payload: one write
      if (dirty.get(loc.file()) == 0) {
        dirty.set(loc.file(), 1); // before the record exists: the round that takes it sees it
      }
      synchronized (meta) {
        registered = replacing == null ? index.putIfAbsent(ref, loc) == null
            : index.replace(ref, replacing, loc);
        if (registered) {
          ordered.put(ref, loc);
          pending.add(new IndexRecord(ref, loc));
          if (replacing != null) {
            pendingFree.add(replacing); // the old record stays durable until the new one is
          }
        }
      }
      return registered;
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot write " + ref + " to " + file.path()
          + " at offset " + loc.offset() + ": " + e.getMessage(), e);
    } finally {
      if (!registered) {
        allocator.free(loc); // no record names it: reusable at once
      }
    }
  }

  private TorusException noSpace(BlockRef ref, int len) {
    return new TorusException(ErrorCode.ENOSPC, String.format(
        "block store %s is full: %s needs %d bytes, %d bytes free, largest free run %d bytes"
            + " (space of deleted blocks is reusable after a flush)",
        name, ref, (long) Location.unitsFor(len) * UNIT, allocator.freeUnits() * UNIT,
        (long) allocator.largestRun() * UNIT));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The extent is read into a per-thread direct buffer and verified there; the payload is
   * then copied into a new heap array of exactly its length, which the returned buffer wraps
   * (array offset 0, writable); nothing else refers to it.
   */
  @Override
  public ByteBuffer get(BlockRef ref) {
    Lock l = enter();
    try {
      Location loc = index.get(ref);
      while (loc != null) {
        ByteBuffer buf = ScratchBuffer.take(BlockHeader.SIZE + loc.length());
        String problem = load(ref, loc, buf);
        if (problem == null) {
          byte[] payload = new byte[loc.length()];
          buf.get(BlockHeader.SIZE, payload);
          return ByteBuffer.wrap(payload);
        }
        Location now = index.get(ref);
        if (loc.equals(now)) {
          throw new CorruptBlockException("block " + ref + " in " + files[loc.file()].path()
              + " at offset " + loc.offset() + " is corrupt: " + problem);
        }
        loc = now; // deleted or replaced while we read; its space may hold another block
      }
      return null;
    } finally {
      l.unlock();
    }
  }

  /** Reads the extent at {@code loc} into {@code buf}; returns why it is not {@code ref}. */
  private String load(BlockRef ref, Location loc, ByteBuffer buf) {
    DataFile file = files[loc.file()];
    try {
      int n = file.readFully(buf, loc.offset());
      return BlockHeader.check(ref, loc.length(), buf, n);
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot read " + ref + " from " + file.path()
          + " at offset " + loc.offset() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean contains(BlockRef ref) {
    Lock l = enter();
    try {
      return index.containsKey(ref);
    } finally {
      l.unlock();
    }
  }

  @Override
  public boolean delete(BlockRef ref) {
    Lock l = enter();
    try {
      checkWritable();
      synchronized (meta) {
        Location loc = index.remove(ref);
        if (loc == null) {
          return false;
        }
        ordered.remove(ref);
        pending.add(new IndexRecord(ref, null));
        pendingFree.add(loc);
        return true;
      }
    } finally {
      l.unlock();
    }
  }

  /** {@inheritDoc} The action runs on the calling thread, on a snapshot of the refs. */
  @Override
  public void forEach(long volumeId, Consumer<BlockRef> action) {
    List<BlockRef> refs = new ArrayList<>();
    Lock l = enter();
    try {
      VolumeRefs.collect(ordered, volumeId, refs);
    } finally {
      l.unlock();
    }
    refs.forEach(action);
  }

  /** {@inheritDoc} {@code O(max + log n)}: a range scan of the ordered index. */
  @Override
  public List<BlockRef> list(long volumeId, BlockRef after, int max) {
    Lock l = enter();
    try {
      return VolumeRefs.page(ordered, volumeId, after, max);
    } finally {
      l.unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Group-committed: a flush that arrives while a round is forcing waits for it to end and
   * then shares the next round with every other flush that arrived meanwhile (one force of
   * the dirty data files and one of the log for all of them). If a force fails, this and every
   * later flush, also those already waiting, throw {@link ErrorCode#EIO} without forcing again.
   */
  @Override
  public void flush() {
    Lock l = enter();
    try {
      rounds.commit(this::round, this::checkWritable);
    } finally {
      l.unlock();
    }
  }

  /** Flushes and appends the pending records: one round (see {@link GroupCommit}). */
  private void round() {
    if (shouldCompact()) {
      compact();
      return;
    }
    List<IndexRecord> batch;
    List<Location> frees;
    synchronized (meta) {
      batch = pending;
      frees = pendingFree;
      pending = new ArrayList<>();
      pendingFree = new ArrayList<>();
    }
    if (batch.isEmpty()) {
      return;
    }
    try {
      forceData();
      ByteBuffer b = ByteBuffer.allocate(batch.size() * IndexRecord.SIZE);
      batch.forEach(r -> r.writeTo(b));
      log.append(b.flip());
    } catch (IOException | RuntimeException e) {
      restore(batch, frees);
      throw fail(e);
    }
    frees.forEach(allocator::free);
  }

  private boolean shouldCompact() {
    synchronized (meta) {
      long records = log.records() + pending.size();
      return records >= Math.max(compactMinRecords, 2L * index.size());
    }
  }

  /**
   * Rewrites the log as the live index; all pending records taken become durable with it.
   * Holds {@code meta} only to take them and copy the index: operations that register
   * meanwhile stay pending and go to the new log with the next flush.
   */
  private void compact() {
    List<IndexRecord> batch;
    List<Location> frees;
    List<IndexRecord> live;
    synchronized (meta) {
      batch = pending;
      frees = pendingFree;
      pending = new ArrayList<>();
      pendingFree = new ArrayList<>();
      live = new ArrayList<>(index.size());
      ordered.forEach((ref, loc) -> live.add(new IndexRecord(ref, loc)));
    }
    try {
      forceData();
      log.rewrite(live);
    } catch (IOException | RuntimeException e) {
      restore(batch, frees); // appending them again after a rewrite that landed is harmless
      throw fail(e);
    }
    frees.forEach(allocator::free);
  }

  private void restore(List<IndexRecord> batch, List<Location> frees) {
    synchronized (meta) {
      pending.addAll(0, batch);
      pendingFree.addAll(0, frees);
    }
  }

  /**
   * Forces each data file written since a round last took its dirty flag. A write sets the
   * flag after it completed and before its record is registered, so the force of a round
   * that takes the record, or of an earlier round that took the flag after it was set, began
   * after the write; if a force fails, the flags taken stay set.
   */
  private void forceData() throws IOException {
    ForceHook hook = forceHook;
    for (int i = 0; i < files.length; i++) {
      if (dirty.getAndSet(i, 0) == 0) {
        continue;
      }
      DataFile f = files[i];
      boolean forced = false;
      try {
        hook.before(f.path());
        f.force(false);
        forced = true;
        hook.after(f.path());
      } finally {
        if (!forced) {
          dirty.set(i, 1);
        }
      }
    }
  }

  private TorusException fail(Exception e) {
    String why = e.getMessage() == null ? e.toString() : e.getMessage();
    TorusException t = e instanceof TorusException ? (TorusException) e
        : new TorusException(ErrorCode.EIO, "flush of block store " + name + " failed: " + why,
            e);
    if (!Thread.currentThread().isInterrupted() && !(e instanceof TorusClosedException)) {
      failure = t;
      warnings.warn("failed:" + name, "block store {} failed and refuses writes until it is"
          + " reopened: {}", name, why, e);
    }
    return t;
  }

  /** Routes every force of this store through {@code hook} (fault tests). */
  void forceHook(ForceHook hook) {
    this.forceHook = hook;
    log.forceHook(hook);
  }

  /** Where {@code ref} is stored now, or null (fault tests). */
  Location location(BlockRef ref) {
    return index.get(ref);
  }

  @Override
  public long capacity() {
    return geometry.capacity();
  }

  /** {@inheritDoc} Includes the space of deleted blocks until the next flush frees it. */
  @Override
  public long used() {
    return allocator.usedUnits() * UNIT;
  }

  @Override
  public void close() {
    state.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      TorusException error = null;
      if (failure == null) {
        try {
          round(); // no flush is running: each holds the shared side of state
        } catch (TorusException e) {
          error = e;
        }
      }
      closed = true;
      error = closeQuietly(log, error);
      for (DataFile f : files) {
        error = closeQuietly(f, error);
      }
      error = closeQuietly(lock, error);
      if (error != null) {
        throw error;
      }
    } finally {
      state.writeLock().unlock();
    }
  }

  private TorusException closeQuietly(AutoCloseable c, TorusException error) {
    try {
      c.close();
      return error;
    } catch (Exception e) {
      TorusException t = TorusException.of(e);
      if (error != null) {
        error.addSuppressed(t);
        return error;
      }
      return t;
    }
  }

  private Lock enter() {
    Lock l = state.readLock();
    l.lock();
    if (closed) {
      l.unlock();
      throw new TorusClosedException("block store " + name + " is closed");
    }
    return l;
  }

  private void checkWritable() {
    TorusException f = failure;
    if (f != null) {
      throw new TorusException(ErrorCode.EIO, "block store " + name
          + " refuses writes after a failed flush; reopen it: " + f.getMessage(), f);
    }
  }

  @Override
  public String toString() {
    return "FileBlockStore[" + name + "]";
  }
}
