package io.torus.spi;

/**
 * What a {@link BlockStore} can do, declared up front instead of discovered by failure.
 *
 * @param persistent whether flushed blocks survive a process crash and power loss
 * @param maxBlockSize the largest block, in bytes, the store accepts
 */
public record StoreCapabilities(boolean persistent, int maxBlockSize) {}
