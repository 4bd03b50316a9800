package io.torus.spi;

/**
 * Proof that one writer holds a volume. Handed out by {@link MetadataService#lockVolume}.
 *
 * @param volumeId the locked volume
 * @param holder who holds it (node id and address)
 * @param epoch the fencing epoch: strictly greater than every earlier lock's epoch of any
 *     volume of the cluster; peers refuse blocks of the volume carrying a smaller one
 * @param head the head as it stood when the lock was taken, its generation already advanced
 *     past anything an earlier writer may have written
 */
public record VolumeLock(long volumeId, String holder, long epoch, Head head) {}
