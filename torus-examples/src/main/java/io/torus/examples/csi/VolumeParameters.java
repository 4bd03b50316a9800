package io.torus.examples.csi;

import io.torus.Erasure;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeQos;
import io.torus.VolumeSpec;
import java.util.Map;

/**
 * The StorageClass parameters a volume is created with: {@code replication},
 * {@code erasure} (e.g. {@code 4+2}; not with {@code replication}) and {@code blockSize}, 0
 * or null where not given (the cluster's default applies); and its I/O limits
 * {@code readIops}, {@code writeIops}, {@code readBytesPerSecond} and
 * {@code writeBytesPerSecond} (0 or absent: none); and {@code encrypted} ({@code "true"}:
 * encrypted at rest with the key-encryption key of the call's secrets, see {@link SecretKek};
 * {@code "false"} or absent: not encrypted).
 *
 * @param replication copies of each block, or 0
 * @param blockSize bytes, or 0
 * @param erasure the erasure coding asked for, or null
 * @param qos the I/O limits asked for, {@link VolumeQos#UNLIMITED} for none
 * @param encrypted whether the volume is encrypted at rest
 */
record VolumeParameters(int replication, int blockSize, Erasure erasure, VolumeQos qos,
    boolean encrypted) {

  /** Parameters without I/O limits, not encrypted. */
  VolumeParameters(int replication, int blockSize, Erasure erasure) {
    this(replication, blockSize, erasure, VolumeQos.UNLIMITED, false);
  }

  /** Prefix of the keys Kubernetes' sidecars add for themselves. */
  static final String KUBERNETES_PREFIX = "csi.storage.k8s.io/";

  /**
   * Parses {@code params}; throws INVALID_ARGUMENT for an unknown key or a bad value.
   */
  static VolumeParameters parse(Map<String, String> params) {
    int replication = 0;
    int blockSize = 0;
    Erasure erasure = null;
    boolean encrypted = false;
    VolumeQos.Builder qos = VolumeQos.builder();
    for (Map.Entry<String, String> e : params.entrySet()) {
      String k = e.getKey();
      switch (k) {
        case "replication" -> {
          try {
            replication = Integer.parseInt(e.getValue().trim());
          } catch (NumberFormatException x) {
            throw CsiErrors.invalid("parameter replication: not a number: '" + e.getValue()
                + "'");
          }
          if (replication < 1 || replication > 16) {
            throw CsiErrors.invalid("parameter replication must be 1 to 16: " + replication);
          }
        }
        case "blockSize" -> {
          long b = Sizes.parse(k, e.getValue());
          if (b < VolumeSpec.MIN_BLOCK_SIZE || b > VolumeSpec.MAX_BLOCK_SIZE
              || Long.bitCount(b) != 1) {
            throw CsiErrors.invalid("parameter blockSize must be a power of two from 4 KiB to"
                + " 4 MiB: " + e.getValue());
          }
          blockSize = (int) b;
        }
        case "erasure" -> {
          try {
            erasure = Erasure.parse(e.getValue().trim());
          } catch (TorusException x) {
            throw CsiErrors.invalid("parameter erasure: " + x.getMessage());
          }
        }
        case "encrypted" -> encrypted = bool(k, e.getValue());
        case "readIops" -> qos.readIops(count(k, e.getValue()));
        case "writeIops" -> qos.writeIops(count(k, e.getValue()));
        case "readBytesPerSecond" -> qos.readBytesPerSecond(rate(k, e.getValue()));
        case "writeBytesPerSecond" -> qos.writeBytesPerSecond(rate(k, e.getValue()));
        default -> {
          if (!k.startsWith(KUBERNETES_PREFIX)) {
            throw CsiErrors.invalid("unknown parameter '" + k + "' (known: replication,"
                + " erasure, blockSize, encrypted, readIops, writeIops, readBytesPerSecond,"
                + " writeBytesPerSecond)");
          }
        }
      }
    }
    if (erasure != null && replication != 0) {
      throw CsiErrors.invalid("parameters erasure and replication exclude each other: an"
          + " erasure-coded volume keeps m+1 copies of its map nodes by itself");
    }
    VolumeQos limits;
    try {
      limits = qos.build();
    } catch (TorusException x) {
      throw CsiErrors.invalid("parameters readIops, writeIops, readBytesPerSecond,"
          + " writeBytesPerSecond: " + x.getMessage());
    }
    return new VolumeParameters(replication, blockSize, erasure, limits, encrypted);
  }

  /** A boolean parameter: {@code true} or {@code false}. */
  private static boolean bool(String key, String text) {
    return switch (text.trim()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw CsiErrors.invalid("parameter " + key + " must be \"true\" or \"false\": '"
          + text + "'");
    };
  }

  /** A bytes-per-second parameter: 0 (no limit) or a size, e.g. {@code 100MiB}. */
  private static long rate(String key, String text) {
    return text.trim().equals("0") ? 0 : Sizes.parse(key, text);
  }

  /** A count parameter: a decimal number from 0. */
  private static long count(String key, String text) {
    try {
      long n = Long.parseLong(text.trim());
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException x) {
      // below
    }
    throw CsiErrors.invalid("parameter " + key + ": not a number from 0 (0: no limit): '"
        + text + "'");
  }

  /**
   * True if {@code v} has the layout these parameters ask for, encryption included (its I/O
   * limits may differ: they change over a volume's life, see {@link VolumeCreation}).
   */
  boolean matches(VolumeInfo v) {
    return v.encrypted() == encrypted
        && (replication == 0 || (v.erasure() == null && v.replication() == replication))
        && (erasure == null || erasure.equals(v.erasure()))
        && (blockSize == 0 || v.blockSize() == blockSize);
  }

  /**
   * Raw bytes stored per byte of data for a volume with these parameters, given the
   * cluster's defaults (for GetCapacity).
   */
  double overhead(int defaultReplication, Erasure defaultErasure) {
    if (erasure != null) {
      return erasure.overhead();
    }
    if (replication > 0) {
      return replication;
    }
    return defaultErasure != null ? defaultErasure.overhead() : defaultReplication;
  }
}
