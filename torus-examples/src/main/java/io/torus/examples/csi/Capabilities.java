package io.torus.examples.csi;

import csi.v1.Csi.VolumeCapability;
import java.util.List;
import java.util.Set;

/**
 * Which volume capabilities a Torus volume offers: block or mount access (ext4 by default;
 * ext2, ext3 and xfs where their mkfs is installed on the node), on one node at a time —
 * a volume has one writer in the cluster, its NBD export. Access modes: SINGLE_NODE_WRITER,
 * SINGLE_NODE_READER_ONLY, and the single-node modes later CSI versions add
 * (SINGLE_NODE_SINGLE_WRITER = 6, SINGLE_NODE_MULTI_WRITER = 7, which pods on one node share).
 */
final class Capabilities {
  /** File system types the plugin can make and mount. */
  static final Set<String> FS_TYPES = Set.of("ext4", "ext3", "ext2", "xfs");
  private static final Set<Integer> MODES = Set.of(1, 2, 6, 7);
  /** Access mode number of SINGLE_NODE_READER_ONLY. */
  static final int READER_ONLY = 2;

  private Capabilities() {}

  /** Why {@code c} is not offered, or null if it is. */
  static String unsupported(VolumeCapability c) {
    if (!c.hasBlock() && !c.hasMount()) {
      return "volume capability without access type (block or mount)";
    }
    if (!c.hasAccessMode()) {
      return "volume capability without access mode";
    }
    int mode = c.getAccessMode().getModeValue();
    if (!MODES.contains(mode)) {
      return "access mode " + c.getAccessMode().getMode() + " (" + mode + ") is not offered:"
          + " a Torus volume is attached to one node at a time";
    }
    if (c.hasMount() && !FS_TYPES.contains(fsType(c))) {
      return "file system type '" + c.getMount().getFsType() + "' is not offered (one of "
          + FS_TYPES + ")";
    }
    return null;
  }

  /** Throws INVALID_ARGUMENT unless {@code caps} is non-empty and every one is offered. */
  static void check(List<VolumeCapability> caps) {
    if (caps.isEmpty()) {
      throw CsiErrors.invalid("volume_capabilities are required");
    }
    for (VolumeCapability c : caps) {
      String why = unsupported(c);
      if (why != null) {
        throw CsiErrors.invalid(why);
      }
    }
  }

  /** The file system type of mount access; ext4 when unspecified. */
  static String fsType(VolumeCapability c) {
    String t = c.getMount().getFsType();
    return t.isEmpty() ? "ext4" : t;
  }

  static boolean readOnly(VolumeCapability c) {
    return c.getAccessMode().getModeValue() == READER_ONLY;
  }
}
