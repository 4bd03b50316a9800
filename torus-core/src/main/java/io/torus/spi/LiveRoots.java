package io.torus.spi;

import java.util.List;
import java.util.Objects;

/**
 * Every root that keeps blocks alive, read in one consistent view: the head of every volume
 * and every snapshot of every volume. Garbage collection may delete a block only if it is
 * reachable from none of them and is not of a pending generation of its volume (a generation
 * above that volume's head generation).
 *
 * @param revision the metadata revision the view was read at
 * @param roots the heads and snapshots, heads first per volume, sorted by volume id
 */
public record LiveRoots(long revision, List<LiveRoot> roots) {
  /** Copies the list. */
  public LiveRoots {
    roots = List.copyOf(roots);
  }

  /**
   * One root.
   *
   * @param volumeId the volume
   * @param volumeName its name
   * @param snapshot the snapshot's name, or {@code null} for the volume's head
   * @param root the map root, or {@code null} (all holes: keeps nothing alive)
   * @param generation the head's (or snapshot's) generation
   */
  public record LiveRoot(long volumeId, String volumeName, String snapshot, BlockRef root,
      long generation) {
    /** Checks the name is present. */
    public LiveRoot {
      Objects.requireNonNull(volumeName, "volumeName");
    }

    /** Whether this is a volume's head (not a snapshot). */
    public boolean isHead() {
      return snapshot == null;
    }
  }
}
