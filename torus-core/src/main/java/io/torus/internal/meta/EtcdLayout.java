package io.torus.internal.meta;

import io.torus.BlockKind;
import io.torus.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The etcd key layout and value formats, layout version 1. Every key lives under
 * {@code <root>/v1/}; the root prefix is configurable (default {@code /torus}).
 *
 * <pre>
 * +---------------------------+----------------------------------------------------------+
 * | key (under ROOT/v1/)      | value (UTF-8 text)                                       |
 * +---------------------------+----------------------------------------------------------+
 * | counters/volume-id        | last volume id handed out, decimal                       |
 * | names/NAME/id             | volume id, 16 lowercase hex digits                       |
 * | volumes/ID/info           | v1 id=N size=N block-size=N replication=N                |
 * |                           |    created=ISO-8601-INSTANT name=NAME                    |
 * | volumes/ID/head           | v1 generation=N root=KIND:VOLUME/GENERATION/SEQUENCE     |
 * |                           |    or v1 generation=N root=none                          |
 * | volumes/ID/lock           | v1 lease=LEASE holder=HOLDER (put under that lease)      |
 * +---------------------------+----------------------------------------------------------+
 * ID and LEASE: 16 lowercase hex digits. KIND: data, map or parity. N: decimal.
 * </pre>
 *
 * <p>Ids are fixed-width and every per-volume key ends in a '/'-terminated segment, so no key
 * of one volume is a prefix of another volume's keys (volume 2's
 * {@code volumes/0000000000000002/} never matches volume 0x20's), and name keys are
 * terminated by {@code /id} (volume "2"'s key is not a prefix of volume "20"'s).
 *
 * <p>The head's compare-and-swap token is the head key's mod revision. A lock's fencing
 * epoch is the lock key's create revision.
 *
 * <p>Parsing is strict: a value that does not match its format is an {@link ErrorCode#EIO}
 * error naming the key. Immutable and thread-safe.
 */
final class EtcdLayout {
  /** The layout version, part of every key. */
  static final int VERSION = 1;

  private static final Pattern ROOT = Pattern.compile("(/[A-Za-z0-9._-]+)+");
  private static final Pattern INFO = Pattern.compile("v1 id=(\\d{1,19}) size=(\\d{1,19})"
      + " block-size=(\\d{1,10}) replication=(\\d{1,3}) created=(\\S+) name=(\\S+)");
  private static final Pattern HEAD = Pattern.compile(
      "v1 generation=(\\d{1,19}) root=(?:none|([a-z]+):(\\d{1,19})/(\\d{1,19})/(\\d{1,10}))");
  private static final Pattern LOCK = Pattern.compile("v1 lease=([0-9a-f]{16}) holder=(.+)",
      Pattern.DOTALL);
  private static final Pattern ID = Pattern.compile("[0-9a-f]{16}");

  private final String base;

  /**
   * @param root the root prefix: one or more {@code /segment}s of {@code [A-Za-z0-9._-]}, no
   *     trailing slash
   */
  EtcdLayout(String root) {
    if (root == null || !ROOT.matcher(root).matches()) {
      throw TorusException.invalid("etcd root prefix must look like /a or /a/b (segments of "
          + "[A-Za-z0-9._-], no trailing '/'): " + root);
    }
    this.base = root + "/v" + VERSION + "/";
  }

  /** Everything of this layout version: {@code <root>/v1/}. */
  String base() {
    return base;
  }

  String volumeIdCounter() {
    return base + "counters/volume-id";
  }

  String nameKey(String name) {
    return base + "names/" + VolumeSpec.checkName(name) + "/id";
  }

  String namesPrefix() {
    return base + "names/";
  }

  String volumesPrefix() {
    return base + "volumes/";
  }

  /** Every key of one volume starts with this; it is no prefix of another volume's. */
  String volumePrefix(long id) {
    return base + "volumes/" + hex(id) + "/";
  }

  String infoKey(long id) {
    return volumePrefix(id) + "info";
  }

  String headKey(long id) {
    return volumePrefix(id) + "head";
  }

  String lockKey(long id) {
    return volumePrefix(id) + "lock";
  }

  /** Whether {@code key} is some volume's info key. */
  boolean isInfoKey(String key) {
    return key.startsWith(volumesPrefix()) && key.endsWith("/info");
  }

  static String hex(long id) {
    return String.format("%016x", id);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ---- values ----

  static String encodeCounter(long last) {
    return Long.toString(last);
  }

  static long decodeCounter(String key, String value) {
    try {
      long v = Long.parseLong(value);
      if (v < 0) {
        throw new NumberFormatException("negative");
      }
      return v;
    } catch (NumberFormatException e) {
      throw corrupt(key, value, "not a volume id counter");
    }
  }

  static String encodeId(long id) {
    return hex(id);
  }

  static long decodeId(String key, String value) {
    if (!ID.matcher(value).matches()) {
      throw corrupt(key, value, "not a 16-digit hex volume id");
    }
    return Long.parseUnsignedLong(value, 16);
  }

  /** The info value of a volume. */
  static String encodeInfo(long id, VolumeSpec spec, Instant created) {
    return "v1 id=" + id + " size=" + spec.size() + " block-size=" + spec.blockSize()
        + " replication=" + spec.replication() + " created=" + created + " name="
        + spec.name();
  }

  /** A parsed info value: the volume's id, spec and creation time. */
  record Info(long id, VolumeSpec spec, Instant created) {}

  static Info decodeInfo(String key, String value) {
    Matcher m = INFO.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 volume info value");
    }
    try {
      VolumeSpec spec = new VolumeSpec(m.group(6), Long.parseLong(m.group(2)),
          Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)));
      return new Info(Long.parseLong(m.group(1)), spec, Instant.parse(m.group(5)));
    } catch (NumberFormatException | DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeHead(BlockRef root, long generation) {
    String r = root == null ? "none" : root.kind().name().toLowerCase(Locale.ROOT) + ":"
        + root.volumeId() + "/" + root.generation() + "/" + root.sequence();
    return "v1 generation=" + generation + " root=" + r;
  }

  /** A parsed head value. */
  record HeadValue(BlockRef root, long generation) {}

  static HeadValue decodeHead(String key, String value) {
    Matcher m = HEAD.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 head value");
    }
    try {
      long gen = Long.parseLong(m.group(1));
      BlockRef root = null;
      if (m.group(2) != null) {
        root = new BlockRef(Long.parseLong(m.group(3)), Long.parseLong(m.group(4)),
            Integer.parseInt(m.group(5)), kind(m.group(2)));
      }
      return new HeadValue(root, gen);
    } catch (NumberFormatException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeLock(long lease, String holder) {
    return "v1 lease=" + hex(lease) + " holder=" + holder;
  }

  /** A parsed lock value. */
  record LockValue(long lease, String holder) {}

  static LockValue decodeLock(String key, String value) {
    Matcher m = LOCK.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 lock value");
    }
    return new LockValue(Long.parseUnsignedLong(m.group(1), 16), m.group(2));
  }

  private static BlockKind kind(String name) {
    for (BlockKind k : BlockKind.values()) {
      if (k.name().toLowerCase(Locale.ROOT).equals(name)) {
        return k;
      }
    }
    throw TorusException.invalid("unknown block kind '" + name + "'");
  }

  static TorusException corrupt(String key, String value, String why) {
    String shown = value.length() > 120 ? value.substring(0, 120) + "..." : value;
    return new TorusException(ErrorCode.EIO, "corrupt value under etcd key '" + key + "': "
        + why + " (value: '" + shown + "'); nothing was changed");
  }
}
