package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One snapshot of an open volume's three layers, newest first: {@code dirty} (blocks changed
 * since the last flush started), {@code frozen} (the blocks a running flush is committing;
 * immutable) and {@code root} (the committed block map), plus the write-out queue of dirty's
 * in-memory blocks.
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
  final BlockRef root;
  /** Entries in {@link #inMemory}, stale ones included (its size() is O(n)). */
  final AtomicInteger queued = new AtomicInteger();

  private VolumeState(ConcurrentHashMap<Long, Entry> dirty,
      ConcurrentLinkedQueue<Long> inMemory, Map<Long, Entry> frozen, BlockRef root) {
    this.dirty = dirty;
    this.inMemory = inMemory;
    this.frozen = frozen;
    this.root = root;
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

  /** A state with an empty dirty map (and write-out queue) above {@code frozen}. */
  static VolumeState fresh(Map<Long, Entry> frozen, BlockRef root) {
    return new VolumeState(new ConcurrentHashMap<>(), new ConcurrentLinkedQueue<>(), frozen,
        root);
  }

  /** This state's dirty map and queue above {@code newFrozen} and {@code newRoot}. */
  VolumeState withRoot(Map<Long, Entry> newFrozen, BlockRef newRoot) {
    return new VolumeState(dirty, inMemory, newFrozen, newRoot);
  }
}
