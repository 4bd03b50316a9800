package io.torus.spi;

import io.torus.TorusException;

/**
 * The one mutable thing of a volume: the root of its block map, the generation it was
 * committed in, and the generations reserved for its writer. Everything a head points to is
 * immutable.
 *
 * <p><b>Generations.</b> Every generation a writer ever puts blocks under is at most
 * {@code reserved}, and that bound was durable in the metadata store before the first such
 * put. Taking the writer lock moves {@code generation} up to {@code reserved} (whatever an
 * earlier writer may have written is now at or below the committed generation) and reserves
 * a fresh range above it; each commit extends the range. So no two writers, and no two
 * flushes, ever produce the same {@link BlockRef}, whatever failed in between.
 *
 * @param volumeId the volume
 * @param root the block map's root node, or {@code null} for a volume that is all holes
 * @param generation the generation of the last commit (or the generation the writer lock
 *     moved it to, see {@link MetadataService#lockVolume}); blocks of higher generations are
 *     pending and unreachable from this head
 * @param revision an opaque compare-and-swap token of the metadata service
 * @param reserved the highest generation a writer may use, {@code >= generation}
 */
public record Head(long volumeId, BlockRef root, long generation, long revision,
    long reserved) {

  /** Generations a lock or a commit reserves above the committed one. */
  public static final long RESERVATION = 4096;

  public Head {
    if (reserved < generation) {
      throw TorusException.invalid("reserved generation " + reserved
          + " < committed generation " + generation + " of volume " + volumeId);
    }
  }

  /** A head with no generations reserved above the committed one. */
  public Head(long volumeId, BlockRef root, long generation, long revision) {
    this(volumeId, root, generation, revision, generation);
  }
}
