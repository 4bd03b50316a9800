package io.torus.internal.node;

import io.torus.spi.BlockStore;
import io.torus.spi.MetadataService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;

/** The options of {@link io.torus.TorusBuilder}, as one value. Nullable fields default. */
public record NodeConfig(
    Path dataDirectory,
    List<BlockStore> stores,
    String storeType,
    long storeCapacity,
    MetadataService metadata,
    ExecutorService executor,
    int ioThreads,
    long cacheBytes,
    long dirtyBytes,
    Duration ioTimeout,
    String nodeId,
    Duration gcInterval,
    io.micrometer.core.instrument.MeterRegistry meterRegistry) {}
