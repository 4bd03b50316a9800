package io.torus;

import io.torus.spi.KeyProvider;
import java.util.regex.Pattern;

/**
 * How to create a volume. Validated on construction: a spec that exists is a valid spec.
 *
 * @param name 1 to 128 characters of {@code [A-Za-z0-9._-]}, not starting with '.' or '-'
 * @param size bytes, a positive multiple of 512, at most {@link #MAX_SIZE}
 * @param blockSize a power of two from 4 KiB to 4 MiB
 * @param replication copies of each block, 1 to 16; of an erasure-coded volume, copies of
 *     each map node and of the head, at least {@link Erasure#mapCopies()}
 * @param encryption the wrapped data keys if the volume is encrypted, else null (see
 *     {@link Builder#encryption})
 * @param erasure the erasure-coding policy of the volume's data blocks, or null if they are
 *     replicated (see {@link Builder#erasure(Erasure)})
 * @param qos the volume's I/O limits, {@link VolumeQos#UNLIMITED} for none (null is taken as
 *     that; see {@link Builder#qos})
 */
public record VolumeSpec(String name, long size, int blockSize, int replication,
    VolumeKeys encryption, Erasure erasure, VolumeQos qos) {

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
    if (erasure != null && replication < erasure.mapCopies()) {
      throw TorusException.invalid("an erasure-coded " + erasure + " volume needs"
          + " replication >= " + erasure.mapCopies() + " (its map nodes and head keep parity"
          + " shards + 1 copies, to survive as many lost peers as its data): " + replication);
    }
    if (qos == null) {
      qos = VolumeQos.UNLIMITED;
    }
  }

  /** A spec of a volume that is neither encrypted nor erasure-coded, without I/O limits. */
  public VolumeSpec(String name, long size, int blockSize, int replication) {
    this(name, size, blockSize, replication, null, null, null);
  }

  /** A spec of a volume that is not erasure-coded, without I/O limits. */
  public VolumeSpec(String name, long size, int blockSize, int replication,
      VolumeKeys encryption) {
    this(name, size, blockSize, replication, encryption, null, null);
  }

  /** A spec of a volume without I/O limits. */
  public VolumeSpec(String name, long size, int blockSize, int replication,
      VolumeKeys encryption, Erasure erasure) {
    this(name, size, blockSize, replication, encryption, erasure, null);
  }

  /** Whether the volume is encrypted. */
  public boolean encrypted() {
    return encryption != null;
  }

  /** Whether the volume's data blocks are erasure-coded ({@link #erasure()} is not null). */
  public boolean erasureCoded() {
    return erasure != null;
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

  /**
   * A builder with the defaults: 16 KiB blocks, replication 2, no erasure coding, no I/O
   * limits.
   */
  public static Builder builder(String name, long size) {
    return new Builder(name, size);
  }

  /** Builds a {@link VolumeSpec}. Not thread-safe. */
  public static final class Builder {
    private final String name;
    private final long size;
    private int blockSize = DEFAULT_BLOCK_SIZE;
    private int replication = DEFAULT_REPLICATION;
    private boolean replicationSet;
    private Erasure erasure;
    private VolumeQos qos = VolumeQos.UNLIMITED;
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

    /**
     * Copies of each block, 1 to 16. With {@link #erasure(Erasure)}: copies of each map node
     * and of the head, at least m+1 ({@link #build} refuses fewer).
     */
    public Builder replication(int replication) {
      this.replication = replication;
      this.replicationSet = true;
      return this;
    }

    /** {@link #erasure(Erasure)} of {@code new Erasure(dataShards, parityShards)}. */
    public Builder erasure(int dataShards, int parityShards) {
      return erasure(new Erasure(dataShards, parityShards));
    }

    /**
     * Erasure-codes the volume's data blocks with {@code erasure} (null: replicated, the
     * default). Unless {@link #replication} is set too, the replication becomes
     * {@link Erasure#mapCopies()} (m+1), the copies of each map node and of the head; one
     * set lower is refused by {@link #build} (EINVAL).
     */
    public Builder erasure(Erasure erasure) {
      this.erasure = erasure;
      return this;
    }

    /**
     * Limits the volume's I/O (see {@link VolumeQos}); default {@link VolumeQos#UNLIMITED}.
     * Changed later with {@link Torus#setVolumeQos}.
     */
    public Builder qos(VolumeQos qos) {
      this.qos = java.util.Objects.requireNonNull(qos, "qos");
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
      int r = erasure != null && !replicationSet ? erasure.mapCopies() : replication;
      VolumeSpec plain = new VolumeSpec(name, size, blockSize, r, null, erasure, qos);
      return kek == null ? plain : new VolumeSpec(name, size, blockSize, r,
          VolumeKeys.forNewVolume(kek), erasure, qos);
    }
  }
}
