package io.torus;

/**
 * A run of a volume's bytes with one allocation state, as block status reports it.
 *
 * @param offset first byte of the run
 * @param length bytes in the run, {@code > 0}
 * @param hole true if the run was never written or was trimmed; it reads as zeros
 */
public record Extent(long offset, long length, boolean hole) {}
