package io.torus.internal.storage;

import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A {@link BlockStore} in heap memory, for tests and caches. Not persistent: everything is
 * lost when the process ends or the store is closed.
 *
 * <p><b>Invariants.</b> Each stored block is a private {@code byte[]} copy with the CRC32C it
 * was put with, and that array is never written after it was stored: {@link #get} hands out
 * read-only views of it instead of copies, and a replacement (of a corrupt copy, or by the
 * fault hook {@link #damage}) installs a new entry. {@code get} verifies the CRC32C on every
 * call, so a flipped bit in memory is reported as {@link CorruptBlockException}, never
 * returned. {@code used} is the sum, over stored blocks, of length plus
 * {@link #ENTRY_OVERHEAD}, and never exceeds the capacity: space is reserved by
 * compare-and-set before a block is inserted. A ref is in the per-volume order index exactly
 * when it is in the block map: both change together, inside one atomic update of the ref's
 * block map entry.
 *
 * <p><b>Concurrency and cost.</b> Lock-free reads: {@code get} and {@code contains} are one
 * {@link ConcurrentHashMap} lookup ({@code O(1)}). {@code put} and {@code delete} are one
 * atomic hash map update, which also adds or removes the ref in its volume's ordered
 * index (a concurrent skip list, {@code O(log n)}); that index serves only {@link #list}
 * ({@code O(max + log n)} per page, in ref order) and {@link #forEach}, so a volume's refs
 * are listed without scanning other volumes. Usage is an atomic counter; deleted space is
 * reusable at once. A put of a stored ref compares the bytes: equal is a no-op, a valid copy
 * with other bytes is a {@link RefConflictException}, and a corrupt copy is replaced by
 * compare-and-set after the new copy's space was reserved (so a full store keeps the old one).
 *
 * <p><b>Ownership.</b> A put copies the caller's bytes (the caller may reuse its buffer). A
 * get returns a new read-only buffer over the stored array (position 0, limit = length,
 * {@link ByteBuffer#hasArray()} false): no copy is made, writes through it throw
 * {@link java.nio.ReadOnlyBufferException}, and it stays valid after the ref is deleted.
 *
 * <p><b>Checks.</b> Argument checks (size, the put's checksum, nulls) are
 * {@link CheckedBlockStore}'s; the node never uses this store without it.
 *
 * <p><b>Failure.</b> A full store throws {@link ErrorCode#ENOSPC} and keeps serving every
 * other call. After {@link #close()} every data call throws {@link TorusClosedException}.
 */
public final class MemoryBlockStore implements BlockStore {
  /** Largest payload accepted: 4 MiB of data plus 64 KiB for larger map nodes. */
  public static final int MAX_BLOCK_SIZE = 4 * 1024 * 1024 + 64 * 1024;
  /** Bytes counted per block on top of its length (map entries, ref, array header). */
  public static final int ENTRY_OVERHEAD = 64;

  /** A stored copy: never mutated once it is in {@link #blocks}. */
  private record Entry(byte[] data, int crc32c) {
    boolean intact() {
      return Crc32c.of(data, 0, data.length) == crc32c;
    }

    long cost() {
      return (long) data.length + ENTRY_OVERHEAD;
    }
  }

  private final String name;
  private final long capacity;
  /** Every stored block; the source of truth for get, contains, put and delete. */
  private final ConcurrentHashMap<BlockRef, Entry> blocks = new ConcurrentHashMap<>();
  /** Per volume, its refs in order; changed only inside an atomic update of {@link #blocks}. */
  private final ConcurrentHashMap<Long, ConcurrentSkipListMap<BlockRef, Boolean>> order =
      new ConcurrentHashMap<>();
  private final AtomicLong used = new AtomicLong();
  private volatile boolean closed;

  /**
   * Creates an empty store.
   *
   * @param name the store's name for logs
   * @param capacity bytes the store may use, {@code > 0}
   */
  public MemoryBlockStore(String name, long capacity) {
    if (capacity <= 0) {
      throw TorusException.invalid("store capacity must be > 0: " + capacity);
    }
    this.name = Objects.requireNonNull(name, "name");
    this.capacity = capacity;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public StoreCapabilities capabilities() {
    return new StoreCapabilities(false, MAX_BLOCK_SIZE);
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    checkOpen();
    Entry fresh = null;
    while (true) { // each retry means another thread changed the ref meanwhile
      Entry cur = blocks.get(ref);
      if (cur != null && cur.intact()) {
        if (ByteBuffer.wrap(cur.data()).equals(data)) {
          return;
        }
        throw new RefConflictException(String.format("put %s into block store %s: the store"
            + " holds a valid copy with other content (%d bytes, CRC32C %08x; given %d bytes,"
            + " CRC32C %08x); refs are immutable, nothing was stored", ref, name,
            cur.data().length, cur.crc32c(), data.remaining(), crc32c));
      }
      if (fresh == null) {
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        fresh = new Entry(copy, crc32c);
      }
      reserve(ref, fresh.cost()); // ENOSPC keeps a damaged copy
      if (cur == null ? insert(ref, fresh) : blocks.replace(ref, cur, fresh)) {
        if (cur != null) {
          used.addAndGet(-cur.cost());
        }
        return;
      }
      used.addAndGet(-fresh.cost());
    }
  }

  /** Stores {@code fresh} under {@code ref} if absent, indexing it; returns whether it did. */
  private boolean insert(BlockRef ref, Entry fresh) {
    ConcurrentSkipListMap<BlockRef, Boolean> refs =
        order.computeIfAbsent(ref.volumeId(), v -> new ConcurrentSkipListMap<>());
    return blocks.computeIfAbsent(ref, r -> {
      refs.put(r, Boolean.TRUE);
      return fresh;
    }) == fresh;
  }

  private void reserve(BlockRef ref, long cost) {
    long u;
    do {
      u = used.get();
      if (u + cost > capacity) {
        throw new TorusException(ErrorCode.ENOSPC, "block store " + name + " is full: " + ref
            + " needs " + cost + " bytes, " + (capacity - u) + " free");
      }
    } while (!used.compareAndSet(u, u + cost));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Verifies the stored CRC32C, then returns a new <em>read-only</em> view of the stored
   * bytes (no copy; see the class comment). Callers that need to modify the bytes copy them.
   */
  @Override
  public ByteBuffer get(BlockRef ref) {
    checkOpen();
    Entry e = blocks.get(ref);
    if (e == null) {
      return null;
    }
    byte[] data = e.data();
    int actual = Crc32c.of(data, 0, data.length);
    if (actual != e.crc32c()) {
      throw new CorruptBlockException(String.format(
          "block %s in memory store %s is corrupt: stored CRC32C %08x, computed %08x",
          ref, name, e.crc32c(), actual));
    }
    return ByteBuffer.wrap(data).asReadOnlyBuffer();
  }

  @Override
  public boolean contains(BlockRef ref) {
    checkOpen();
    return blocks.containsKey(ref);
  }

  @Override
  public boolean delete(BlockRef ref) {
    checkOpen();
    Entry[] removed = new Entry[1];
    blocks.computeIfPresent(ref, (r, e) -> {
      ConcurrentSkipListMap<BlockRef, Boolean> refs = order.get(r.volumeId());
      if (refs != null) {
        refs.remove(r);
      }
      removed[0] = e;
      return null;
    });
    if (removed[0] == null) {
      return false;
    }
    used.addAndGet(-removed[0].cost());
    return true;
  }

  /**
   * Replaces the stored copy of {@code ref} by one with a bit flipped (or, for an empty
   * block, a wrong checksum), as a memory fault would (fault tests). Buffers handed out
   * before keep the old bytes: stored arrays are never written.
   */
  void damage(BlockRef ref) {
    Entry e = Objects.requireNonNull(blocks.get(ref), "not stored");
    byte[] data = e.data().clone();
    int crc = e.crc32c();
    if (data.length > 0) {
      data[data.length / 2] ^= 1;
    } else {
      crc ^= 1;
    }
    if (!blocks.replace(ref, e, new Entry(data, crc))) {
      throw new IllegalStateException(ref + " changed while it was being damaged");
    }
  }

  /** {@inheritDoc} The action runs on the calling thread, on a snapshot of the refs. */
  @Override
  public void forEach(long volumeId, Consumer<BlockRef> action) {
    checkOpen();
    ConcurrentSkipListMap<BlockRef, Boolean> refs = order.get(volumeId);
    if (refs != null) {
      new ArrayList<>(refs.keySet()).forEach(action);
    }
  }

  /** {@inheritDoc} {@code O(max + log n)}: a range scan of the volume's ordered index. */
  @Override
  public List<BlockRef> list(long volumeId, BlockRef after, int max) {
    checkOpen();
    ConcurrentSkipListMap<BlockRef, Boolean> refs = order.get(volumeId);
    return VolumeRefs.page(refs == null ? Collections.emptyNavigableMap() : refs, volumeId,
        after, max);
  }

  /** Nothing to do: the store is not persistent. Throws if closed. */
  @Override
  public void flush() {
    checkOpen();
  }

  @Override
  public long capacity() {
    return capacity;
  }

  @Override
  public long used() {
    return used.get();
  }

  /** Drops every block. Idempotent. */
  @Override
  public void close() {
    closed = true;
    blocks.clear();
    order.clear();
    used.set(0);
  }

  private void checkOpen() {
    if (closed) {
      throw new TorusClosedException("block store " + name + " is closed");
    }
  }

  @Override
  public String toString() {
    return "MemoryBlockStore[" + name + "]";
  }
}
