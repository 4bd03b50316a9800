package io.torus.spi;

/**
 * Opens {@link BlockStore}s of one type. Listed in
 * {@code META-INF/services/io.torus.spi.BlockStoreProvider}; the node builder chooses one by
 * {@link #type()}. Built in: {@code memory} and {@code file}.
 */
public interface BlockStoreProvider {

  /** The type name users select, e.g. {@code "file"}. */
  String type();

  /** Opens (creating if needed) a store; throws {@link io.torus.TorusException} on failure. */
  BlockStore open(StoreConfig config);
}
