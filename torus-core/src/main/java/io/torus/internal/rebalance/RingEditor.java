package io.torus.internal.rebalance;

import io.torus.ConcurrentUpdateException;
import io.torus.internal.meta.RingStore;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * Reads and compare-and-swaps the cluster's ring through {@link RingStore}, keeping the
 * version inside the ring's encoding equal to the store's version (the store bumps it by one
 * on every change). Thread-safe.
 *
 * <p>Decoding is shared ({@link #decode}): a ketama ring of N peers is N × 2048 points to hash
 * and sort (up to 16 MiB), and the same bytes reach many readers of one process (the
 * coordinator twice a second, status readers, every node of a {@code LocalCluster} or of
 * in-process peers sharing resources); they get one immutable copy.
 */
public final class RingEditor {
  private static final ArrayDeque<Map.Entry<byte[], Ring>> DECODED = new ArrayDeque<>();
  private static final int DECODED_KEPT = 4;

  private final RingStore store;

  public RingEditor(RingStore store) {
    this.store = store;
  }

  /** The stored ring, decoded, or empty; throws EIO if it cannot be read or decoded. */
  public Optional<Ring> read() {
    return store.read().map(v -> decode(v.bytes()));
  }

  /**
   * The ring these bytes encode ({@link RingCodec#decode}), from the process's last few
   * decoded rings when they hold the same bytes. Decoding runs under the cache's lock: of
   * several nodes receiving a new ring together, the first decodes and the others wait for
   * its result. Throws EIO for bytes that are not a ring.
   */
  public static Ring decode(byte[] bytes) {
    synchronized (DECODED) {
      for (Map.Entry<byte[], Ring> e : DECODED) {
        if (Arrays.equals(e.getKey(), bytes)) {
          return e.getValue();
        }
      }
      Ring r = RingCodec.decode(bytes);
      DECODED.addLast(Map.entry(bytes.clone(), r));
      if (DECODED.size() > DECODED_KEPT) {
        DECODED.removeFirst();
      }
      return r;
    }
  }

  /**
   * Stores {@code next} (its version is replaced by {@code current.version() + 1}, or 1) if
   * the stored ring is still {@code current}.
   *
   * @param current the ring read, or null if there was none
   * @return the ring stored, or empty if the stored ring changed meanwhile
   */
  public Optional<Ring> replace(Ring current, Ring next) {
    long expected = current == null ? 0 : current.version();
    Ring versioned = next.withVersion(expected + 1);
    try {
      VersionedRing stored = store.update(expected, RingCodec.encode(versioned));
      return Optional.of(versioned.withVersion(stored.version()));
    } catch (ConcurrentUpdateException e) {
      return Optional.empty();
    }
  }
}
