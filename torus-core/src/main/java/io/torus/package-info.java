/**
 * The public API of Torus: build a node with {@link io.torus.Torus#builder()}, create and open
 * volumes ({@link io.torus.BlockVolume}) and read and write them at byte offsets; snapshots,
 * clones, resize and {@link io.torus.ClusterAdmin the admin view} of a cluster.
 *
 * <p>Every failure is a {@link io.torus.TorusException} carrying an {@link io.torus.ErrorCode}
 * (its subclasses name the common cases). A write is durable only once a flush has returned;
 * a flush that could not make it durable throws, and the volume says so on every later call
 * when it is fenced.
 *
 * <p>Everything under {@code io.torus.internal} is the implementation and may change in any
 * release; extensions plug in through {@link io.torus.spi}.
 */
package io.torus;
