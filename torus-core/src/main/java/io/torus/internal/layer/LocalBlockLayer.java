package io.torus.internal.layer;

import io.torus.BlockRef;
import io.torus.BlockUnavailableException;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Puts each block on {@code replication} distinct stores of this node (one per disk), chosen
 * by a hash of the ref; reads from the first that has a good copy.
 *
 * <p>Failure: a put succeeds only when every copy was stored. A get that meets a corrupt or
 * missing copy tries the next one; if all fail it throws {@link BlockUnavailableException}.
 * A flush forces every store written since the last flush.
 */
public final class LocalBlockLayer implements BlockLayer {
  private final List<BlockStore> stores;
  private final int replication;
  private final AtomicBoolean[] dirty;
  private final java.util.concurrent.atomic.AtomicLong deletes =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param stores the node's stores, in a fixed order
   * @param replication copies per block; must not exceed the number of stores
   */
  public LocalBlockLayer(List<BlockStore> stores, int replication) {
    if (replication > stores.size()) {
      throw TorusException.invalid("replication " + replication + " needs at least "
          + replication + " stores; this node has " + stores.size());
    }
    this.stores = List.copyOf(stores);
    this.replication = replication;
    this.dirty = new AtomicBoolean[stores.size()];
    for (int i = 0; i < dirty.length; i++) {
      dirty[i] = new AtomicBoolean();
    }
  }

  private int first(BlockRef ref) {
    long h = ref.volumeId() * 0x9E3779B97F4A7C15L + ref.generation() * 0xC2B2AE3D27D4EB4FL
        + ref.sequence() * 0x165667B19E3779F9L + ref.kind().id();
    h ^= h >>> 29;
    return (int) Math.floorMod(h, (long) stores.size());
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    int start = first(ref);
    for (int i = 0; i < replication; i++) {
      int s = (start + i) % stores.size();
      stores.get(s).put(ref, data, crc32c);
      dirty[s].set(true); // after the put: a barrier that cleared the flag first covers it
    }
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    int start = first(ref);
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < replication; i++) {
      BlockStore store = stores.get((start + i) % stores.size());
      try {
        ByteBuffer b = store.get(ref);
        if (b != null) {
          return b;
        }
        problems.add(store.name() + ": missing");
      } catch (CorruptBlockException e) {
        problems.add(store.name() + ": " + e.getMessage());
      } catch (TorusException e) {
        if (e.code() != ErrorCode.EIO) {
          throw e;
        }
        problems.add(store.name() + ": " + e.getMessage());
      }
    }
    throw new BlockUnavailableException("no good copy of block " + ref + " " + problems);
  }

  @Override
  public void delete(BlockRef ref) {
    int start = first(ref);
    for (int i = 0; i < replication; i++) {
      int s = (start + i) % stores.size();
      if (stores.get(s).delete(ref)) {
        dirty[s].set(true);
      }
    }
    // deleted space becomes reusable at a store's next flush: make sure one comes
    if (deletes.incrementAndGet() % 1024 == 0) {
      flush();
    }
  }

  @Override
  public void flush() {
    for (int i = 0; i < stores.size(); i++) {
      if (dirty[i].getAndSet(false)) {
        try {
          stores.get(i).flush();
        } catch (RuntimeException e) {
          dirty[i].set(true);
          throw e;
        }
      }
    }
  }
}
