package io.torus.internal.meta.etcd;

import io.torus.VolumeKeys;
import java.util.List;
import java.util.regex.Matcher;

/**
 * The fields of a volume info value that hold an encrypted volume's keys:
 * {@code cipher=aes-256-gcm kek=KEK-ID keys=VOL:HEX,VOL:HEX...} (own key, volume 0, first;
 * see {@link EtcdLayout} and {@code src-docs/formats.md}).
 */
final class EtcdKeyFields {
  /** The fields, with a leading space, as three groups: cipher, KEK id, keys. */
  static final String PATTERN =
      "(?: cipher=(\\S+) kek=(\\S+) keys=((?:\\d{1,19}:[0-9a-f]{2,1024},?){1,64}))";

  private EtcdKeyFields() {}

  /** The info fields of an encrypted volume's keys (with a leading space), or "". */
  static String encode(VolumeKeys keys) {
    if (keys == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(" cipher=").append(keys.cipher()).append(" kek=")
        .append(keys.kekId()).append(" keys=");
    for (int i = 0; i < keys.keys().size(); i++) {
      b.append(i == 0 ? "" : ",").append(keys.keys().get(i));
    }
    return b.toString();
  }

  static VolumeKeys decode(Matcher m, int g) {
    if (m.group(g) == null) {
      return null;
    }
    List<VolumeKeys.Wrapped> keys = new java.util.ArrayList<>();
    for (String k : m.group(g + 2).split(",")) {
      int colon = k.indexOf(':');
      keys.add(new VolumeKeys.Wrapped(Long.parseLong(k.substring(0, colon)),
          java.util.HexFormat.of().parseHex(k.substring(colon + 1))));
    }
    return new VolumeKeys(m.group(g), m.group(g + 1), keys);
  }
}
