package io.torus.spi;

import io.torus.TorusException;
import io.torus.internal.storage.CheckedBlockStore;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds {@link BlockStoreProvider}s through {@link ServiceLoader}. */
public final class BlockStores {
  private BlockStores() {}

  /** The types of every provider on the class path, e.g. {@code [file, memory]}. */
  public static List<String> types() {
    List<String> types = new ArrayList<>();
    for (BlockStoreProvider p : ServiceLoader.load(BlockStoreProvider.class)) {
      types.add(p.type());
    }
    return types;
  }

  /**
   * Opens a store with the provider of {@code type}, wrapped in the contract's argument and
   * result checks ({@link CheckedBlockStore}: block size, the put's checksum, nulls, list
   * pages), so a provider need not repeat them.
   *
   * @throws TorusException (EINVAL) if no provider has that type, or whatever the provider
   *     throws if the store cannot be opened
   */
  public static BlockStore open(String type, StoreConfig config) {
    for (BlockStoreProvider p : ServiceLoader.load(BlockStoreProvider.class)) {
      if (p.type().equals(type)) {
        return CheckedBlockStore.wrap(p.open(config));
      }
    }
    throw TorusException.invalid("no block store provider of type '" + type + "' (have "
        + types() + ")");
  }
}
