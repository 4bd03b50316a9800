package io.torus.internal.meta;

import io.torus.TorusException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One version of the cluster's ring as the metadata store keeps it: opaque bytes (the ring
 * encoding belongs to the ring package) and a version that grows by one with every change.
 * Immutable: the bytes are copied in and out.
 */
public final class VersionedRing {
  /** The largest encoded ring accepted (etcd's default request limit is 1.5 MiB). */
  public static final int MAX_BYTES = 1 << 20;

  private final long version;
  private final byte[] bytes;

  /**
   * @param version {@code >= 1}
   * @param bytes the encoded ring, at most {@link #MAX_BYTES}; copied
   * @throws TorusException EINVAL for a bad version or size
   */
  public VersionedRing(long version, byte[] bytes) {
    if (version < 1) {
      throw TorusException.invalid("ring version must be >= 1: " + version);
    }
    if (bytes == null || bytes.length > MAX_BYTES) {
      throw TorusException.invalid("encoded ring must be 0 to " + MAX_BYTES + " bytes: "
          + (bytes == null ? "null" : bytes.length));
    }
    this.version = version;
    this.bytes = bytes.clone();
  }

  /** The version, {@code >= 1}. */
  public long version() {
    return version;
  }

  /** A copy of the encoded ring. */
  public byte[] bytes() {
    return bytes.clone();
  }

  /** The encoded ring's length in bytes. */
  public int length() {
    return bytes.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VersionedRing r && r.version == version && Arrays.equals(r.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(version) * 31 + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    String head = HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 16));
    return "VersionedRing[version=" + version + ", " + bytes.length + " bytes: " + head
        + (bytes.length > 16 ? "...]" : "]");
  }
}
