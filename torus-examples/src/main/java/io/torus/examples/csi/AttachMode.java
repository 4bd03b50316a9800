package io.torus.examples.csi;

import java.util.Locale;

/**
 * How the node plugin attaches a volume as a block device (see {@link Attacher}).
 *
 * <ul>
 *   <li>{@link #KERNEL}: the kernel's NBD client, {@code nbd-client} connecting a free
 *       {@code /dev/nbdN} to the volume's export; needs the {@code nbd} module loaded and
 *       {@code nbd-client} installed;
 *   <li>{@link #FUSE}: {@code nbdfuse} serving the export as a file and a loop device over
 *       it; needs FUSE, no kernel module;
 *   <li>{@link #AUTO}: {@link #KERNEL} where it can be had (module loaded, {@code nbd-client}
 *       installed, a free device), else {@link #FUSE}.
 * </ul>
 */
public enum AttachMode {
  AUTO, KERNEL, FUSE;

  /** The environment variable the plugin reads its mode from when not given one. */
  public static final String ENV = "TORUS_CSI_ATTACH";

  /**
   * {@code auto}, {@code kernel} or {@code fuse} (any case).
   *
   * @throws IllegalArgumentException naming the bad value for anything else
   */
  public static AttachMode parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("attach mode must be auto, kernel or fuse: '" + text
          + "'", e);
    }
  }

  /** The mode of {@code $TORUS_CSI_ATTACH}, {@link #AUTO} when it is unset or empty. */
  public static AttachMode fromEnvironment() {
    String v = System.getenv(ENV);
    return v == null || v.isBlank() ? AUTO : parse(v);
  }

  /** The name written in the state file and on the command line: lower case. */
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
