package io.torus.internal.storage;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Free space of a {@link FileBlockStore}: per data file, the free runs of 4 KiB units, found
 * by best fit in O(log n) and merged with their neighbours when freed.
 *
 * <p><b>Invariants.</b> Per file, free runs never overlap or touch (adjacent runs are merged);
 * {@code byStart} and {@code bySize} hold the same runs. {@link #usedUnits()} is the total
 * minus the free units.
 *
 * <p><b>Concurrency.</b> Thread-safe; every method holds the allocator's monitor briefly and
 * does no I/O.
 */
final class ExtentAllocator {
  private final int fileCount;
  private final int unitsPerFile;
  /** Per file: start unit to run length. */
  private final TreeMap<Integer, Integer>[] byStart;
  /** Per file: runs as {@code (length << 32) | start}, ordered by length then start. */
  private final TreeSet<Long>[] bySize;
  private long freeUnits;
  private int nextFile;

  @SuppressWarnings("unchecked")
  ExtentAllocator(int fileCount, int unitsPerFile) {
    this.fileCount = fileCount;
    this.unitsPerFile = unitsPerFile;
    this.byStart = new TreeMap[fileCount];
    this.bySize = new TreeSet[fileCount];
    for (int f = 0; f < fileCount; f++) {
      byStart[f] = new TreeMap<>();
      bySize[f] = new TreeSet<>();
      addRun(f, 0, unitsPerFile);
    }
    this.freeUnits = (long) fileCount * unitsPerFile;
  }

  private static long key(int start, int length) {
    return ((long) length << 32) | (start & 0xffffffffL);
  }

  private void addRun(int f, int start, int length) {
    byStart[f].put(start, length);
    bySize[f].add(key(start, length));
  }

  private void removeRun(int f, int start, int length) {
    byStart[f].remove(start);
    bySize[f].remove(key(start, length));
  }

  /**
   * Takes {@code units} contiguous units, trying the data files round robin; returns the
   * first unit and file as a location for a payload of {@code length}, or {@code null} if no
   * file has a run that large.
   */
  synchronized Location allocate(int units, int length) {
    for (int i = 0; i < fileCount; i++) {
      int f = (nextFile + i) % fileCount;
      Long best = bySize[f].ceiling(key(0, units));
      if (best != null) {
        int start = (int) (long) best;
        int runLength = (int) (best >>> 32);
        removeRun(f, start, runLength);
        if (runLength > units) {
          addRun(f, start + units, runLength - units);
        }
        freeUnits -= units;
        nextFile = (f + 1) % fileCount;
        return new Location(f, start, length);
      }
    }
    return null;
  }

  /**
   * Marks an extent as used (when rebuilding from the index); returns {@code false}, changing
   * nothing, if any unit of it is outside the file or not free.
   */
  synchronized boolean reserve(Location loc) {
    int f = loc.file();
    int start = loc.unit();
    int units = loc.units();
    if (f < 0 || f >= fileCount || start < 0 || loc.length() < 0
        || loc.length() > FileBlockStore.MAX_BLOCK_SIZE || (long) start + units > unitsPerFile) {
      return false;
    }
    Map.Entry<Integer, Integer> run = byStart[f].floorEntry(start);
    if (run == null || (long) run.getKey() + run.getValue() < (long) start + units) {
      return false;
    }
    int runStart = run.getKey();
    int runLength = run.getValue();
    removeRun(f, runStart, runLength);
    if (start > runStart) {
      addRun(f, runStart, start - runStart);
    }
    int after = runStart + runLength - (start + units);
    if (after > 0) {
      addRun(f, start + units, after);
    }
    freeUnits -= units;
    return true;
  }

  /** Returns an extent to the free space. */
  synchronized void free(Location loc) {
    int f = loc.file();
    int start = loc.unit();
    int length = loc.units();
    Map.Entry<Integer, Integer> before = byStart[f].floorEntry(start);
    Map.Entry<Integer, Integer> next = byStart[f].ceilingEntry(start);
    if (before != null && before.getKey() + before.getValue() > start
        || next != null && next.getKey() < start + length) {
      throw new IllegalStateException("double free of " + loc);
    }
    freeUnits += length;
    if (before != null && before.getKey() + before.getValue() == start) {
      removeRun(f, before.getKey(), before.getValue());
      start = before.getKey();
      length += before.getValue();
    }
    Map.Entry<Integer, Integer> after = byStart[f].ceilingEntry(start + 1);
    if (after != null && after.getKey() == start + length) {
      removeRun(f, after.getKey(), after.getValue());
      length += after.getValue();
    }
    addRun(f, start, length);
  }

  /** Units not free. */
  synchronized long usedUnits() {
    return (long) fileCount * unitsPerFile - freeUnits;
  }

  /** Units free. */
  synchronized long freeUnits() {
    return freeUnits;
  }

  /** Free units in the largest run of any file. */
  synchronized int largestRun() {
    int max = 0;
    for (TreeSet<Long> s : bySize) {
      if (!s.isEmpty()) {
        max = Math.max(max, (int) (s.last() >>> 32));
      }
    }
    return max;
  }
}
