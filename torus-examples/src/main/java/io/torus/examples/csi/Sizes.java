package io.torus.examples.csi;

import csi.v1.Csi.CapacityRange;
import io.torus.VolumeSpec;
import java.util.Locale;

/**
 * Volume sizes from CSI capacity ranges, and sizes written in StorageClass parameters.
 * A volume's size is a multiple of 4 KiB where the range allows, else of 512 bytes (the
 * smallest a Torus volume takes).
 */
final class Sizes {
  private static final long PAGE = 4096;
  private static final long SECTOR = 512;

  private Sizes() {}

  /**
   * The size to create for {@code range} (absent: {@code defaultSize}).
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT for negative bounds or a limit
   *     below the required size; OUT_OF_RANGE when no Torus volume size fits the range
   */
  static long choose(CapacityRange range, boolean present, long defaultSize) {
    long required = present ? range.getRequiredBytes() : 0;
    long limit = present ? range.getLimitBytes() : 0;
    if (required < 0 || limit < 0) {
      throw CsiErrors.invalid("capacity_range bounds must not be negative: required "
          + required + ", limit " + limit);
    }
    if (limit > 0 && required > limit) {
      throw CsiErrors.invalid("capacity_range: required_bytes " + required
          + " exceeds limit_bytes " + limit);
    }
    long size;
    if (required > 0) {
      size = roundUp(required, PAGE);
      if (limit > 0 && size > limit) {
        size = roundUp(required, SECTOR);
      }
    } else if (limit > 0 && limit < defaultSize) {
      size = limit / PAGE * PAGE; // as much as the limit allows
      if (size == 0) {
        size = limit / SECTOR * SECTOR;
      }
    } else {
      size = defaultSize;
    }
    if (size == 0 || limit > 0 && size > limit) {
      throw CsiErrors.outOfRange("no volume size of whole 512-byte sectors fits capacity_range"
          + " [" + required + ", " + limit + "]");
    }
    if (size > VolumeSpec.MAX_SIZE) {
      throw CsiErrors.outOfRange("largest volume size is " + VolumeSpec.MAX_SIZE + " bytes: "
          + size);
    }
    return size;
  }

  /** True if {@code size} lies within {@code range} (bounds of 0 are absent). */
  static boolean fits(long size, CapacityRange range) {
    return (range.getRequiredBytes() <= 0 || size >= range.getRequiredBytes())
        && (range.getLimitBytes() <= 0 || size <= range.getLimitBytes());
  }

  private static long roundUp(long v, long unit) {
    return Math.max(unit, (v + unit - 1) / unit * unit);
  }

  /**
   * A size parameter: bytes, or a number with K/KiB, M/MiB, G/GiB (binary units).
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming {@code key}
   */
  static long parse(String key, String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    long unit = 1;
    for (String[] u : new String[][] {{"kib", "10"}, {"mib", "20"}, {"gib", "30"},
        {"k", "10"}, {"m", "20"}, {"g", "30"}, {"b", "0"}}) {
      if (t.endsWith(u[0])) {
        unit = 1L << Integer.parseInt(u[1]);
        t = t.substring(0, t.length() - u[0].length()).trim();
        break;
      }
    }
    try {
      long v = Long.parseLong(t);
      if (v <= 0 || v > Long.MAX_VALUE / unit) {
        throw new NumberFormatException();
      }
      return v * unit;
    } catch (NumberFormatException e) {
      throw CsiErrors.invalid("parameter " + key + ": not a size: '" + text + "'");
    }
  }
}
