package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One snapshot of an open volume's layers, newest first: {@code dirty} (blocks changed
 * since the last flush started), {@code frozen} (the blocks a running flush is committing;
 * immutable), {@code journaled} (blocks committed by flushes in the flush journal since the
 * last head commit, as stored refs and holes) and {@code root} (the block map of the last
 * head commit), plus the write-out queue of dirty's in-memory blocks.
 *
 * <p>The references are final: {@link DirtyBuffer} replaces the whole snapshot to move a layer.
 * The maps and the queue are concurrent; who may change them, and under which lock, is
 * described in {@link DirtyBuffer}.
 */
final class VolumeState {
  final ConcurrentHashMap<Long, Entry> dirty;
  /** Indexes of dirty's in-memory blocks, oldest first (may hold stale ones). */
  final ConcurrentLinkedQueue<Long> inMemory;
  final Map<Long, Entry> frozen;
  /**
   * Changes committed through the flush journal above {@code root}: {@link Entry.Stored} and
   * {@link Entry#HOLE} only. One map from one head commit to the next; only the committer adds
   * to it, after a journal append, with each index's entry equal to the frozen one a reader
   * of an older snapshot sees first.
   */
  final Map<Long, Entry> journaled;
  final BlockRef root;
  /** Entries in {@link #inMemory}, stale ones included (its size() is O(n)). */
  final AtomicInteger queued = new AtomicInteger();

  private VolumeState(ConcurrentHashMap<Long, Entry> dirty,
      ConcurrentLinkedQueue<Long> inMemory, Map<Long, Entry> frozen,
      Map<Long, Entry> journaled, BlockRef root) {
    this.dirty = dirty;
    this.inMemory = inMemory;
    this.frozen = frozen;
    this.journaled = journaled;
    this.root = root;
  }

  /** Block {@code index}'s entry below the dirty map: frozen, else journaled, else null. */
  Entry below(long index) {
    Entry f = frozen.get(index);
    return f != null ? f : journaled.get(index);
  }

  /** Whether {@link #below} has an entry for {@code index}. */
  boolean hasBelow(long index) {
    return frozen.containsKey(index) || journaled.containsKey(index);
  }

  /** Adds to {@link #inMemory}, counted. */
  void enqueue(long index) {
    inMemory.add(index);
    queued.incrementAndGet();
  }

  /** Takes the oldest index of {@link #inMemory}, or null. */
  Long poll() {
    Long index = inMemory.poll();
    if (index != null) {
      queued.decrementAndGet();
    }
    return index;
  }

  /** A state with an empty dirty map (and write-out queue) above the given layers. */
  static VolumeState fresh(Map<Long, Entry> frozen, Map<Long, Entry> journaled,
      BlockRef root) {
    return new VolumeState(new ConcurrentHashMap<>(), new ConcurrentLinkedQueue<>(), frozen,
        journaled, root);
  }

  /** This state's dirty map and queue above the given layers. */
  VolumeState withLayers(Map<Long, Entry> newFrozen, Map<Long, Entry> newJournaled,
      BlockRef newRoot) {
    return new VolumeState(dirty, inMemory, newFrozen, newJournaled, newRoot);
  }
}
