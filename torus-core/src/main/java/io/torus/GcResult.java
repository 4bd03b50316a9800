package io.torus;

/**
 * What one garbage-collection cycle did.
 *
 * @param liveBlocks blocks found reachable from a head, snapshot or open handle
 * @param scannedBlocks blocks listed in the stores
 * @param deletedBlocks unreachable blocks deleted
 */
public record GcResult(long liveBlocks, long scannedBlocks, long deletedBlocks) {}
