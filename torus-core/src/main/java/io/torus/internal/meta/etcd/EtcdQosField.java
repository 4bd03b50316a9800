package io.torus.internal.meta.etcd;

import io.torus.VolumeQos;
import java.time.Duration;
import java.util.regex.Matcher;

/**
 * The field of a volume info value ({@link EtcdLayout}) that holds a volume's I/O limits:
 * {@code qos=riops:N,wiops:N,rbps:N,wbps:N,burst-ms:N}, the read and write requests per
 * second, the read and written bytes per second (0: no limit) and the burst in milliseconds,
 * all five in this order, decimal without leading zeros. Absent: no limits with the default
 * burst, {@link VolumeQos#UNLIMITED} (every value written before the field existed). See
 * {@code src-docs/formats.md}.
 */
final class EtcdQosField {
  private static final String N = "(0|[1-9]\\d{0,15})";
  /** The optional field, with a leading space, as five groups: riops, wiops, rbps, wbps, ms. */
  static final String PATTERN = "(?: qos=riops:" + N + ",wiops:" + N + ",rbps:" + N + ",wbps:"
      + N + ",burst-ms:([1-9]\\d{0,7}))?";

  private EtcdQosField() {}

  /** The field of {@code qos} with a leading space, or "" for {@link VolumeQos#UNLIMITED}. */
  static String encode(VolumeQos qos) {
    return qos == null || qos.equals(VolumeQos.UNLIMITED) ? ""
        : " qos=riops:" + qos.readIops() + ",wiops:" + qos.writeIops() + ",rbps:"
            + qos.readBytesPerSecond() + ",wbps:" + qos.writeBytesPerSecond() + ",burst-ms:"
            + qos.burst().toMillis();
  }

  /**
   * The limits matched by {@link #PATTERN} starting at group {@code g}, or
   * {@link VolumeQos#UNLIMITED}; throws {@link io.torus.TorusException} (EINVAL) if a value
   * is out of range.
   */
  static VolumeQos decode(Matcher m, int g) {
    if (m.group(g) == null) {
      return VolumeQos.UNLIMITED;
    }
    return new VolumeQos(Long.parseLong(m.group(g)), Long.parseLong(m.group(g + 1)),
        Long.parseLong(m.group(g + 2)), Long.parseLong(m.group(g + 3)),
        Duration.ofMillis(Long.parseLong(m.group(g + 4))));
  }
}
