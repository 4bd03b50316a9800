package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import java.nio.charset.StandardCharsets;

/**
 * The fixed 64-bit hash functions placement is built on. They are part of the ring format:
 * every JVM of every version must compute the same values, so they never depend on
 * {@code Object.hashCode}, the platform or a random seed. Changing one moves data and
 * needs a new ring format version (the golden test in {@code RingGoldenTest} guards them).
 *
 * <p>Mixing is MurmurHash3's 64-bit finalizer; strings are hashed with 64-bit FNV-1a over
 * their UTF-8 bytes, then mixed. Stateless and thread-safe.
 */
public final class Hash64 {
  private static final long SEED = 0x7A5E_0F70_5A1B_C0DEL;
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private Hash64() {}

  /** MurmurHash3's fmix64: a bijection on 64-bit values with full avalanche. */
  public static long mix(long z) {
    z ^= z >>> 33;
    z *= 0xff51afd7ed558ccdL;
    z ^= z >>> 33;
    z *= 0xc4ceb9fe1a85ec53L;
    z ^= z >>> 33;
    return z;
  }

  /** The placement hash of a block ref (all four fields). */
  public static long ref(BlockRef ref) {
    long h = mix(SEED ^ ref.volumeId());
    h = mix(h ^ mix(ref.generation()));
    return mix(h ^ mix(((long) ref.sequence() << 8) | ref.kind().id()));
  }

  /** The hash of a string's UTF-8 bytes. */
  public static long string(String s) {
    long h = FNV_OFFSET;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= FNV_PRIME;
    }
    return mix(h);
  }

  /** The position of virtual node {@code index} of the peer whose id hashes to {@code id}. */
  public static long point(long id, int index) {
    return mix(id ^ mix(SEED + index));
  }
}
