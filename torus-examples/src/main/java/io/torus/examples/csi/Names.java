package io.torus.examples.csi;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * CSI names and ids as Torus names. A volume id is the Torus volume's name; a snapshot id is
 * {@code VOLUME@SNAPSHOT}, as the command line writes it. A CSI name that is a valid Torus
 * name (1–128 of {@code [A-Za-z0-9._-]}, not starting with '.' or '-', as Kubernetes'
 * {@code pvc-UUID} and {@code snapshot-UUID} are) is used as it is; any other becomes
 * {@code csi-} and the first 40 hex digits of its SHA-256, the same for the same name.
 */
final class Names {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  private Names() {}

  /** The Torus name for CSI name {@code csiName}. */
  static String torusName(String csiName) {
    if (NAME.matcher(csiName).matches()) {
      return csiName;
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256")
          .digest(csiName.getBytes(StandardCharsets.UTF_8));
      return "csi-" + HexFormat.of().formatHex(d).substring(0, 40);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** True if {@code id} can name a Torus volume. */
  static boolean validVolumeId(String id) {
    return NAME.matcher(id).matches();
  }

  /** {@code VOLUME@SNAPSHOT}. */
  static String snapshotId(String volume, String snapshot) {
    return volume + "@" + snapshot;
  }

  /** The volume and snapshot of a snapshot id, or null if {@code id} is not one. */
  static String[] parseSnapshotId(String id) {
    int at = id.indexOf('@');
    if (at <= 0 || at != id.lastIndexOf('@')) {
      return null;
    }
    String vol = id.substring(0, at);
    String snap = id.substring(at + 1);
    return validVolumeId(vol) && NAME.matcher(snap).matches() ? new String[] {vol, snap} : null;
  }
}
