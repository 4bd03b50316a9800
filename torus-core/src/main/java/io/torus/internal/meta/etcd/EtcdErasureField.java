package io.torus.internal.meta.etcd;

import io.torus.Erasure;
import java.util.regex.Matcher;

/**
 * The field of a volume info value ({@link EtcdLayout}) and of the cluster defaults
 * ({@link EtcdClusterDefaults}) that holds an erasure-coding policy: {@code erasure=K+M},
 * e.g. {@code erasure=4+2}, K 1 to 16 and M 1 to 8 without leading zeros. Absent: replicated
 * (every value written before the field existed). See {@code src-docs/formats.md}.
 */
final class EtcdErasureField {
  /** The optional field, with a leading space, as two groups: K, M. */
  static final String PATTERN = "(?: erasure=([1-9]\\d?)\\+([1-9]))?";

  private EtcdErasureField() {}

  /** The field of {@code erasure} with a leading space, or "" for null (replicated). */
  static String encode(Erasure erasure) {
    return erasure == null ? "" : " erasure=" + erasure;
  }

  /**
   * The policy matched by {@link #PATTERN} starting at group {@code g}, or null; throws
   * {@link io.torus.TorusException} (EINVAL) if it is out of range.
   */
  static Erasure decode(Matcher m, int g) {
    return m.group(g) == null ? null
        : new Erasure(Integer.parseInt(m.group(g)), Integer.parseInt(m.group(g + 1)));
  }
}
