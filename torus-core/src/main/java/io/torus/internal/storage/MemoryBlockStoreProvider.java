package io.torus.internal.storage;

import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreProvider;
import io.torus.spi.StoreConfig;

/**
 * Provider of type {@code memory}: a {@link MemoryBlockStore} of {@link StoreConfig#capacity()}
 * bytes. Option {@code name} (default {@code "memory"}) names it; the directory is ignored.
 */
public final class MemoryBlockStoreProvider implements BlockStoreProvider {

  /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
  public MemoryBlockStoreProvider() {}

  @Override
  public String type() {
    return "memory";
  }

  @Override
  public BlockStore open(StoreConfig config) {
    return new MemoryBlockStore(config.options().getOrDefault("name", "memory"),
        config.capacity());
  }
}
