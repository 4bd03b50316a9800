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
 *       many records and twice as many as live blocks, default 65536;
 *   <li>{@code salvageIndex} — {@code true} opens a store whose index log is corrupt before
 *       its tail by skipping the bad records and keeping the ones after them (logged at
 *       WARN); default {@code false} (such a store refuses to open with {@code EIO}), or the
 *       system property {@code torus.fileStore.salvageIndex}. Read at every open.
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
    return FileStoreOpener.open(config.directory(), config.capacity(), files, compact,
        recovery(config));
  }

  private static IndexLog.Recovery recovery(StoreConfig config) {
    String v = config.options().get("salvageIndex");
    if (v == null) {
      return FileStoreOpener.defaultRecovery();
    }
    switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "true":
        return IndexLog.Recovery.SALVAGE;
      case "false":
        return IndexLog.Recovery.STRICT;
      default:
        throw TorusException.invalid("file store option salvageIndex must be true or false: "
            + v);
    }
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
