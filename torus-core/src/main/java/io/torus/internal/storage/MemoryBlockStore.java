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
import java.util.Arrays;
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
 * was put with; {@link #get} verifies it again, so a flipped bit in memory is reported as
 * {@link CorruptBlockException}, never returned. {@code used} is the sum, over stored blocks,
 * of length plus {@link #ENTRY_OVERHEAD}, and never exceeds the capacity: space is reserved
 * by compare-and-set before a block is inserted.
 *
 * <p><b>Concurrency.</b> Lock-free: a concurrent skip-list map per volume (so a volume's refs
 * are listed, in order, without scanning others) and an atomic usage counter. Deleted space
 * is reusable at once. A put of a stored ref compares the bytes: equal is a no-op, a valid
 * copy with other bytes is a {@link RefConflictException}, and a corrupt copy is replaced by
 * compare-and-set after the new copy's space was reserved (so a full store keeps the old one).
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
  /** Bytes counted per block on top of its length (map entry, ref, array header). */
  public static final int ENTRY_OVERHEAD = 64;

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
  private final ConcurrentHashMap<Long, ConcurrentSkipListMap<BlockRef, Entry>> volumes =
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
    int len = data.remaining();
    byte[] copy = new byte[len];
    data.duplicate().get(copy);
    ConcurrentSkipListMap<BlockRef, Entry> blocks =
        volumes.computeIfAbsent(ref.volumeId(), v -> new ConcurrentSkipListMap<>());
    Entry fresh = new Entry(copy, crc32c);
    while (true) { // each retry means another thread changed the ref meanwhile
      Entry cur = blocks.get(ref);
      if (cur == null) {
        reserve(ref, fresh.cost());
        if (blocks.putIfAbsent(ref, fresh) == null) {
          return;
        }
        used.addAndGet(-fresh.cost());
      } else if (cur.intact()) {
        if (Arrays.equals(cur.data(), copy)) {
          return;
        }
        throw new RefConflictException(String.format("put %s into block store %s: the store"
            + " holds a valid copy with other content (%d bytes, CRC32C %08x; given %d bytes,"
            + " CRC32C %08x); refs are immutable, nothing was stored", ref, name,
            cur.data().length, cur.crc32c(), len, crc32c));
      } else {
        reserve(ref, fresh.cost()); // ENOSPC keeps the damaged copy
        if (blocks.replace(ref, cur, fresh)) {
          used.addAndGet(-cur.cost());
          return;
        }
        used.addAndGet(-fresh.cost());
      }
    }
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

  @Override
  public ByteBuffer get(BlockRef ref) {
    checkOpen();
    Entry e = entry(ref);
    if (e == null) {
      return null;
    }
    byte[] copy = e.data().clone();
    int actual = Crc32c.of(copy, 0, copy.length);
    if (actual != e.crc32c()) {
      throw new CorruptBlockException(String.format(
          "block %s in memory store %s is corrupt: stored CRC32C %08x, computed %08x",
          ref, name, e.crc32c(), actual));
    }
    return ByteBuffer.wrap(copy);
  }

  @Override
  public boolean contains(BlockRef ref) {
    checkOpen();
    return entry(ref) != null;
  }

  @Override
  public boolean delete(BlockRef ref) {
    checkOpen();
    ConcurrentSkipListMap<BlockRef, Entry> blocks = volumes.get(ref.volumeId());
    Entry e = blocks == null ? null : blocks.remove(ref);
    if (e == null) {
      return false;
    }
    used.addAndGet(-e.cost());
    return true;
  }

  private Entry entry(BlockRef ref) {
    ConcurrentSkipListMap<BlockRef, Entry> blocks = volumes.get(ref.volumeId());
    return blocks == null ? null : blocks.get(ref);
  }

  /** Flips one bit of the stored copy of {@code ref}, as a memory fault would (fault tests). */
  void damage(BlockRef ref) {
    Entry e = Objects.requireNonNull(entry(ref), "not stored");
    if (e.data().length > 0) {
      e.data()[e.data().length / 2] ^= 1;
    } else {
      volumes.get(ref.volumeId()).replace(ref, e, new Entry(e.data(), e.crc32c() ^ 1));
    }
  }

  /** {@inheritDoc} The action runs on the calling thread, on a snapshot of the refs. */
  @Override
  public void forEach(long volumeId, Consumer<BlockRef> action) {
    checkOpen();
    ConcurrentSkipListMap<BlockRef, Entry> blocks = volumes.get(volumeId);
    if (blocks != null) {
      new ArrayList<>(blocks.keySet()).forEach(action);
    }
  }

  /** {@inheritDoc} {@code O(max + log n)}: a range scan of the volume's ordered map. */
  @Override
  public List<BlockRef> list(long volumeId, BlockRef after, int max) {
    checkOpen();
    ConcurrentSkipListMap<BlockRef, Entry> blocks = volumes.get(volumeId);
    return VolumeRefs.page(blocks == null ? Collections.emptyNavigableMap() : blocks, volumeId,
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
    volumes.clear();
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
