package io.torus.internal.storage;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.StoreCapabilities;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The argument and result checks of the {@link BlockStore} contract, done once for any store
 * (built-in or third-party), so an implementation only stores and verifies what it stored.
 * The node wraps every store it obtains ({@link io.torus.spi.BlockStores#open}, the builder's
 * {@code addStore}, {@link StorePool}); {@link #wrap} never wraps twice.
 *
 * <p>Before delegating:
 * <ul>
 *   <li>every ref, buffer and action is non-null ({@link NullPointerException} naming it);
 *   <li>a put's remaining bytes are at most {@link StoreCapabilities#maxBlockSize()}, else
 *       {@link ErrorCode#EOVERFLOW} naming the ref and both sizes;
 *   <li>a put's bytes match the CRC32C it is given, else {@link CorruptBlockException}
 *       naming the ref and both checksums; nothing reaches the store;
 *   <li>a put hands the store a duplicate, so the caller's position and limit never move;
 *   <li>a list asks for {@code max > 0}, else {@link ErrorCode#EINVAL}.
 * </ul>
 * After delegating, a list page is checked to be what the contract promises (at most
 * {@code max} refs of the volume, strictly ascending, each after {@code after}); a store that
 * breaks that is reported as {@link ErrorCode#EIO} rather than trusted by a merge or a pager.
 *
 * <p>What only the store can check stays in it: that a stored copy still matches the checksum
 * it was put with ({@code get} throws {@link CorruptBlockException}), closed state, space.
 *
 * <p>Thread-safe if the store is; adds no state and no locks. The checksum of a put is
 * computed on the caller's thread, before the store sees the bytes.
 */
public final class CheckedBlockStore implements BlockStore {
  private final BlockStore store;

  private CheckedBlockStore(BlockStore store) {
    this.store = store;
  }

  /** {@code store} with the checks, or {@code store} itself if it already has them. */
  public static BlockStore wrap(BlockStore store) {
    Objects.requireNonNull(store, "store");
    return store instanceof CheckedBlockStore ? store : new CheckedBlockStore(store);
  }

  /** Each of {@code stores} wrapped ({@link #wrap}), in the same order; an immutable list. */
  public static List<BlockStore> wrapAll(List<BlockStore> stores) {
    return stores.stream().map(CheckedBlockStore::wrap).toList();
  }

  /** The store behind the checks (tests that damage a store's copy directly). */
  BlockStore delegate() {
    return store;
  }

  @Override
  public String name() {
    return store.name();
  }

  @Override
  public StoreCapabilities capabilities() {
    return store.capabilities();
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    Objects.requireNonNull(ref, "ref");
    Objects.requireNonNull(data, "data");
    int len = data.remaining();
    int max = store.capabilities().maxBlockSize();
    if (len > max) {
      throw new TorusException(ErrorCode.EOVERFLOW,
          "block " + ref + " is " + len + " bytes; max " + max);
    }
    int actual = Crc32c.of(data);
    if (actual != crc32c) {
      throw new CorruptBlockException(String.format(
          "put %s: CRC32C mismatch: given %08x, computed %08x", ref, crc32c, actual));
    }
    store.put(ref, data.duplicate(), crc32c);
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    return store.get(Objects.requireNonNull(ref, "ref"));
  }

  @Override
  public boolean contains(BlockRef ref) {
    return store.contains(Objects.requireNonNull(ref, "ref"));
  }

  @Override
  public boolean delete(BlockRef ref) {
    return store.delete(Objects.requireNonNull(ref, "ref"));
  }

  @Override
  public void forEach(long volumeId, Consumer<BlockRef> action) {
    store.forEach(volumeId, Objects.requireNonNull(action, "action"));
  }

  @Override
  public List<BlockRef> list(long volumeId, BlockRef after, int max) {
    if (max <= 0) {
      throw TorusException.invalid("max <= 0: " + max);
    }
    List<BlockRef> page = store.list(volumeId, after, max);
    checkPage(volumeId, after, max, page);
    return page;
  }

  /** Throws EIO if {@code page} is not a page the contract allows. */
  private void checkPage(long volumeId, BlockRef after, int max, List<BlockRef> page) {
    if (page == null || page.size() > max) {
      throw badPage(volumeId, page == null ? "null" : page.size() + " refs for max " + max);
    }
    BlockRef prev = after;
    for (BlockRef r : page) {
      if (r == null || r.volumeId() != volumeId) {
        throw badPage(volumeId, "ref " + r + " is not of the volume");
      }
      if (prev != null && r.compareTo(prev) <= 0) {
        throw badPage(volumeId, "ref " + r + " does not follow " + prev);
      }
      prev = r;
    }
  }

  private TorusException badPage(long volumeId, String why) {
    return new TorusException(ErrorCode.EIO, "block store " + store.name()
        + " listed volume " + volumeId + " out of contract: " + why);
  }

  @Override
  public void flush() {
    store.flush();
  }

  @Override
  public long capacity() {
    return store.capacity();
  }

  @Override
  public long used() {
    return store.used();
  }

  @Override
  public void close() {
    store.close();
  }

  @Override
  public String toString() {
    return store.toString();
  }
}
