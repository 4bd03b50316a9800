package io.torus.spi;

import io.torus.BlockRef;

/**
 * The one mutable thing of a volume: the root of its block map and the generation it was
 * committed in. Everything a head points to is immutable.
 *
 * @param volumeId the volume
 * @param root the block map's root node, or {@code null} for a volume that is all holes
 * @param generation the generation of the last commit (or the last generation handed to a
 *     writer, see {@link MetadataService#lockVolume}); blocks of higher generations are
 *     pending and unreachable from this head
 * @param revision an opaque compare-and-swap token of the metadata service
 */
public record Head(long volumeId, BlockRef root, long generation, long revision) {}
