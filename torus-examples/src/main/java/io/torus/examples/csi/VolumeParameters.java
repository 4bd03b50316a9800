package io.torus.examples.csi;

import io.torus.Erasure;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import java.util.Map;

/**
 * The StorageClass parameters a volume is created with: {@code replication},
 * {@code erasure} (e.g. {@code 4+2}; not with {@code replication}) and {@code blockSize}; 0
 * or null where not given (the cluster's default applies).
 *
 * @param replication copies of each block, or 0
 * @param blockSize bytes, or 0
 * @param erasure the erasure coding asked for, or null
 */
record VolumeParameters(int replication, int blockSize, Erasure erasure) {
  /** Prefix of the keys Kubernetes' sidecars add for themselves. */
  static final String KUBERNETES_PREFIX = "csi.storage.k8s.io/";

  /**
   * Parses {@code params}; throws INVALID_ARGUMENT for an unknown key or a bad value.
   */
  static VolumeParameters parse(Map<String, String> params) {
    int replication = 0;
    int blockSize = 0;
    Erasure erasure = null;
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
        default -> {
          if (!k.startsWith(KUBERNETES_PREFIX)) {
            throw CsiErrors.invalid("unknown parameter '" + k + "' (known: replication,"
                + " erasure, blockSize)");
          }
        }
      }
    }
    if (erasure != null && replication != 0) {
      throw CsiErrors.invalid("parameters erasure and replication exclude each other: an"
          + " erasure-coded volume keeps m+1 copies of its map nodes by itself");
    }
    return new VolumeParameters(replication, blockSize, erasure);
  }

  /** True if {@code v} has what these parameters ask for. */
  boolean matches(VolumeInfo v) {
    return (replication == 0 || (v.erasure() == null && v.replication() == replication))
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
