package io.torus;

import io.torus.spi.KeyProvider;
import java.util.regex.Pattern;

/**
 * How to create a volume. Validated on construction: a spec that exists is a valid spec.
 *
 * @param name 1 to 128 characters of {@code [A-Za-z0-9._-]}, not starting with '.' or '-'
 * @param size bytes, a positive multiple of 512, at most {@link #MAX_SIZE}
 * @param blockSize a power of two from 4 KiB to 4 MiB
 * @param replication copies of each block, 1 to 16
 * @param encryption the wrapped data keys if the volume is encrypted, else null (see
 *     {@link Builder#encryption})
 */
public record VolumeSpec(String name, long size, int blockSize, int replication,
    VolumeKeys encryption) {

  /** The default block size: 16 KiB (see {@code src-docs/benchmarks.md} for why). */
  public static final int DEFAULT_BLOCK_SIZE = 16 * 1024;
  /** Smallest block size. */
  public static final int MIN_BLOCK_SIZE = 4 * 1024;
  /** Largest block size. */
  public static final int MAX_BLOCK_SIZE = 4 * 1024 * 1024;
  /** Largest volume size: 1 EiB. */
  public static final long MAX_SIZE = 1L << 60;
  /** Default number of copies. */
  public static final int DEFAULT_REPLICATION = 2;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  public VolumeSpec {
    checkName(name);
    checkSize(size);
    if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE
        || Integer.bitCount(blockSize) != 1) {
      throw TorusException.invalid(
          "block size must be a power of two from 4 KiB to 4 MiB: " + blockSize);
    }
    if (replication < 1 || replication > 16) {
      throw TorusException.invalid("replication must be 1 to 16: " + replication);
    }
  }

  /** A spec of a volume that is not encrypted. */
  public VolumeSpec(String name, long size, int blockSize, int replication) {
    this(name, size, blockSize, replication, null);
  }

  /** Whether the volume is encrypted. */
  public boolean encrypted() {
    return encryption != null;
  }

  /** Throws {@link TorusException} (EINVAL) unless {@code name} is a valid volume name. */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw TorusException.invalid("bad volume name (1-128 of [A-Za-z0-9._-], not starting"
          + " with '.' or '-'): " + (name == null ? "null" : "'" + name + "'"));
    }
    return name;
  }

  /** Throws {@link TorusException} (EINVAL) unless {@code size} is a valid volume size. */
  public static long checkSize(long size) {
    if (size <= 0 || size % 512 != 0 || size > MAX_SIZE) {
      throw TorusException.invalid(
          "volume size must be a positive multiple of 512 up to 1 EiB: " + size);
    }
    return size;
  }

  /** A builder with the defaults: 16 KiB blocks, replication 2. */
  public static Builder builder(String name, long size) {
    return new Builder(name, size);
  }

  /** Builds a {@link VolumeSpec}. Not thread-safe. */
  public static final class Builder {
    private final String name;
    private final long size;
    private int blockSize = DEFAULT_BLOCK_SIZE;
    private int replication = DEFAULT_REPLICATION;
    private KeyProvider kek;

    private Builder(String name, long size) {
      this.name = name;
      this.size = size;
    }

    /** Block size in bytes; a power of two from 4 KiB to 4 MiB. */
    public Builder blockSize(int blockSize) {
      this.blockSize = blockSize;
      return this;
    }

    /** Copies of each block, 1 to 16. */
    public Builder replication(int replication) {
      this.replication = replication;
      return this;
    }

    /**
     * Encrypts the volume at rest: {@link #build} makes a random data key and wraps it with
     * {@code kek}; every block and map node is encrypted with it (AES-256-GCM) on the node
     * that writes it, before it leaves the process. Opening the volume needs a node given
     * the same key-encryption key ({@link TorusBuilder#keyProvider}).
     */
    public Builder encryption(KeyProvider kek) {
      this.kek = java.util.Objects.requireNonNull(kek, "kek");
      return this;
    }

    /** The spec; throws {@link TorusException} (EINVAL) for a bad value. */
    public VolumeSpec build() {
      VolumeSpec plain = new VolumeSpec(name, size, blockSize, replication);
      return kek == null ? plain : new VolumeSpec(name, size, blockSize, replication,
          VolumeKeys.forNewVolume(kek));
    }
  }
}
