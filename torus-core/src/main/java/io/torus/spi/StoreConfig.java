package io.torus.spi;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a {@link BlockStoreProvider} needs to open a store.
 *
 * @param directory where the store keeps its files (created if missing); ignored by stores
 *     that keep nothing on disk
 * @param capacity bytes the store may use
 * @param options provider-specific settings, never null
 */
public record StoreConfig(Path directory, long capacity, Map<String, String> options) {
  public StoreConfig {
    options = Map.copyOf(options);
    if (capacity <= 0) {
      throw io.torus.TorusException.invalid("store capacity must be > 0: " + capacity);
    }
  }
}
