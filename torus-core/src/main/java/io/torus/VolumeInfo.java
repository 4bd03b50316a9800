package io.torus;

import java.time.Instant;

/**
 * What the cluster knows of a volume.
 *
 * @param id the volume's id, unique in the cluster and never reused
 * @param name the volume's name
 * @param size size in bytes
 * @param blockSize block size in bytes
 * @param replication number of copies of each block
 * @param created when the volume was created
 */
public record VolumeInfo(long id, String name, long size, int blockSize, int replication,
    Instant created) {}
