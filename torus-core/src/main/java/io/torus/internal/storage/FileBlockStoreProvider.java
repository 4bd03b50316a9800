package io.torus.internal.storage;

import io.torus.TorusException;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreProvider;
import io.torus.spi.StoreConfig;

/**
 * Provider of type {@code file}: a {@link FileBlockStore} in {@link StoreConfig#directory()}.
 *
 * <p>Options (used only when the store is created; an existing store keeps its geometry):
 * <ul>
 *   <li>{@code files} — number of preallocated data files the capacity is spread over,
 *       1..65535, default 1;
 *   <li>{@code compactMinRecords} — the index log is rewritten once it holds at least this
 *       many records and twice as many as live blocks, default 65536.
 * </ul>
 */
public final class FileBlockStoreProvider implements BlockStoreProvider {

  /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
  public FileBlockStoreProvider() {}

  @Override
  public String type() {
    return "file";
  }

  @Override
  public BlockStore open(StoreConfig config) {
    if (config.directory() == null) {
      throw TorusException.invalid("file block store needs a directory");
    }
    int files = (int) option(config, "files", 1);
    long compact = option(config, "compactMinRecords",
        FileStoreOpener.DEFAULT_COMPACT_MIN_RECORDS);
    return FileStoreOpener.open(config.directory(), config.capacity(), files, compact);
  }

  private static long option(StoreConfig config, String key, long defaultValue) {
    String v = config.options().get(key);
    if (v == null) {
      return defaultValue;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n < 1 || key.equals("files") && n > 0xffff) {
        throw TorusException.invalid("file store option " + key + " out of range: " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw TorusException.invalid("file store option " + key + " is not a number: " + v);
    }
  }
}
