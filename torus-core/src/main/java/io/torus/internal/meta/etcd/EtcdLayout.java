package io.torus.internal.meta.etcd;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeKeys;
import io.torus.VolumeSpec;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.meta.VersionedRing;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
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
 * |                           |    [origin=ID/NAME@SNAP] (clones only)                   |
 * |                           |    [erasure=K+M] (erasure-coded only; absent: replicated)|
 * |                           |    [qos=riops:N,wiops:N,rbps:N,wbps:N,burst-ms:N]        |
 * |                           |    (I/O limits, 0: none; absent: no limits, 1 s burst)   |
 * |                           |    [cipher=aes-256-gcm kek=KEK-ID keys=VOL:HEX,...]      |
 * |                           |    (encrypted only: wrapped data keys, own (VOL 0) first)|
 * | volumes/ID/head           | v1 generation=N root=KIND:VOLUME/GENERATION/SEQUENCE     |
 * |                           |    or v1 generation=N root=none; then [reserved=N]       |
 * |                           |    (absent: = generation; see io.torus.spi.Head)         |
 * | volumes/ID/lock           | v1 lease=LEASE holder=HOLDER (put under that lease)      |
 * | volumes/ID/snapshots/     | v1 volume=N name=SNAP size=N generation=N root=ROOT      |
 * |   SNAP/record             |    created=ISO-8601-INSTANT                              |
 * | peers/NODE/member         | v1 node=NODE address=HOST:PORT capacity=N used=N         |
 * |                           |    protocol=N started=ISO-8601-INSTANT (persistent)      |
 * | peers/NODE/alive          | the member value + " lease=LEASE" (put under that lease) |
 * | ring/current              | v1 version=N length=N data=BASE64 (opaque ring bytes)    |
 * | elections/NAME/LEASE      | v1 candidate=CANDIDATE (put under that lease)            |
 * | cluster/defaults          | v1 replication=N block-size=N [erasure=K+M]              |
 * |                           |    initialized=ISO-8601-INSTANT updated=ISO-8601-INSTANT |
 * |                           |    (see EtcdClusterDefaults)                             |
 * | cluster/token             | v1 token=HEX (32 lowercase hex digits, created once)     |
 * | rebalance/reports/NODE    | v1 node=NODE ring=N done=BOOL scanned=N total=N          |
 * |                           |    missing=N to-move=N moved=N rate=N scrubbed=N         |
 * |                           |    corrupt=N repaired=N updated=ISO-8601-INSTANT         |
 * | rebalance/drains/NODE     | v1 node=NODE requested=ISO-8601-INSTANT                  |
 * +---------------------------+----------------------------------------------------------+
 * ID and LEASE: 16 lowercase hex digits. KIND: data, map or parity. N: decimal.
 * ROOT: KIND:VOLUME/GENERATION/SEQUENCE or none. NAME, SNAP, NODE: [A-Za-z0-9._-], 1 to 128,
 * not starting with '.' or '-'. BASE64: RFC 4648 with padding. BOOL: true or false.
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
 *
 */
final class EtcdLayout {
  /** The layout version, part of every key. */
  static final int VERSION = 1;

  private static final Pattern ROOT = Pattern.compile("(/[A-Za-z0-9._-]+)+");
  private static final Pattern INFO = Pattern.compile("v1 id=(\\d{1,19}) size=(\\d{1,19})"
      + " block-size=(\\d{1,10}) replication=(\\d{1,3}) created=(\\S+) name=(\\S+)"
      + "(?: origin=([0-9a-f]{16})/([^\\s/@]+)@(\\S+))?"
      + EtcdErasureField.PATTERN + EtcdQosField.PATTERN + EtcdKeyFields.PATTERN + "?");
  private static final String ROOT_RE =
      "(?:none|([a-z]+):(\\d{1,19})/(\\d{1,19})/(\\d{1,10}))";
  private static final Pattern SNAPSHOT = Pattern.compile("v1 volume=(\\d{1,19}) name=(\\S+)"
      + " size=(\\d{1,19}) generation=(\\d{1,19}) root=" + ROOT_RE + " created=(\\S+)");
  private static final Pattern PEER = Pattern.compile("v1 node=(\\S+) address=(\\S+)"
      + " capacity=(\\d{1,19}) used=(\\d{1,19}) protocol=(\\d{1,10}) started=(\\S+)"
      + "(?: lease=([0-9a-f]{16}))?");
  private static final Pattern RING = Pattern.compile(
      "v1 version=(\\d{1,19}) length=(\\d{1,10}) data=([A-Za-z0-9+/]*={0,2})");
  private static final Pattern REPORT = Pattern.compile("v1 node=(\\S+) ring=(\\d{1,19})"
      + " done=(true|false) scanned=(\\d{1,19}) total=(\\d{1,19}) missing=(\\d{1,19})"
      + " to-move=(\\d{1,19}) moved=(\\d{1,19}) rate=(\\d{1,19}) scrubbed=(\\d{1,19})"
      + " corrupt=(\\d{1,19}) repaired=(\\d{1,19}) updated=(\\S+)");
  private static final Pattern DRAIN = Pattern.compile("v1 node=(\\S+) requested=(\\S+)");
  private static final Pattern CANDIDATE = Pattern.compile("v1 candidate=(.+)",
      Pattern.DOTALL);
  private static final Pattern HEAD = Pattern.compile(
      "v1 generation=(\\d{1,19}) root=(?:none|([a-z]+):(\\d{1,19})/(\\d{1,19})/(\\d{1,10}))"
      + "(?: reserved=(\\d{1,19}))?");
  private static final Pattern JOURNAL = Pattern.compile(
      "v1 epoch=(\\d{1,19}) peers=([A-Za-z0-9._-]{1,128}(?:,[A-Za-z0-9._-]{1,128}){0,15})");
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

  /** The peers holding the volume's flush journal, while one is in use. */
  String journalKey(long id) {
    return volumePrefix(id) + "journal";
  }

  /** Every snapshot record of one volume starts with this. */
  String snapshotsPrefix(long id) {
    return volumePrefix(id) + "snapshots/";
  }

  /** The record of snapshot {@code name} of volume {@code id}. */
  String snapshotKey(long id, String name) {
    return snapshotsPrefix(id) + Snapshot.checkName(name) + "/record";
  }

  String peersPrefix() {
    return base + "peers/";
  }

  /** A peer's persistent member record. */
  String memberKey(String nodeId) {
    return peersPrefix() + PeerInfo.checkNodeId(nodeId) + "/member";
  }

  /** A peer's alive record, bound to its lease. */
  String aliveKey(String nodeId) {
    return peersPrefix() + PeerInfo.checkNodeId(nodeId) + "/alive";
  }

  String reportsPrefix() {
    return base + "rebalance/reports/";
  }

  /** A peer's replication report (persistent). */
  String reportKey(String nodeId) {
    return reportsPrefix() + PeerInfo.checkNodeId(nodeId);
  }

  String drainsPrefix() {
    return base + "rebalance/drains/";
  }

  /** A drain request for a peer (persistent). */
  String drainKey(String nodeId) {
    return drainsPrefix() + PeerInfo.checkNodeId(nodeId);
  }

  String ringKey() {
    return base + "ring/current";
  }

  /** Every candidate key of one election starts with this. */
  String electionPrefix(String name) {
    return base + "elections/" + LeaderElection.checkName(name) + "/";
  }

  /** The key of the candidate campaigning under {@code lease}. */
  String candidateKey(String election, long lease) {
    return electionPrefix(election) + hex(lease);
  }

  /** Whether {@code key} is some volume's info key ({@code volumes/ID/info}). */
  boolean isInfoKey(String key) {
    return volumeKeyKind(key).equals("info");
  }

  /** Whether {@code key} is some volume's head key ({@code volumes/ID/head}). */
  boolean isHeadKey(String key) {
    return volumeKeyKind(key).equals("head");
  }

  /** Whether {@code key} is some snapshot's record key. */
  boolean isSnapshotKey(String key) {
    String rest = volumeKeyRest(key);
    return rest != null && rest.startsWith("snapshots/") && rest.endsWith("/record")
        && rest.indexOf('/', "snapshots/".length()) == rest.length() - "/record".length();
  }

  /** The volume id a key under {@code volumes/} belongs to, or -1. */
  long volumeIdOf(String key) {
    if (volumeKeyRest(key) == null) {
      return -1;
    }
    int start = volumesPrefix().length();
    return Long.parseUnsignedLong(key.substring(start, start + 16), 16);
  }

  private String volumeKeyKind(String key) {
    String rest = volumeKeyRest(key);
    return rest == null ? "" : rest;
  }

  /** What follows {@code volumes/ID/} in {@code key}, or null if it is not such a key. */
  private String volumeKeyRest(String key) {
    String p = volumesPrefix();
    if (!key.startsWith(p) || key.length() < p.length() + 17 || key.charAt(p.length() + 16)
        != '/' || !ID.matcher(key.substring(p.length(), p.length() + 16)).matches()) {
      return null;
    }
    return key.substring(p.length() + 17);
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

  /** The info value of a volume (no origin). */
  static String encodeInfo(long id, VolumeSpec spec, Instant created) {
    return encodeInfo(id, spec, created, null);
  }

  /** The info value of a volume; {@code origin} is null unless it is a clone. */
  static String encodeInfo(long id, VolumeSpec spec, Instant created, CloneOrigin origin) {
    return "v1 id=" + id + " size=" + spec.size() + " block-size=" + spec.blockSize()
        + " replication=" + spec.replication() + " created=" + created + " name="
        + spec.name() + (origin == null ? "" : " origin=" + hex(origin.volumeId()) + "/"
        + origin.volumeName() + "@" + origin.snapshot())
        + EtcdErasureField.encode(spec.erasure()) + EtcdQosField.encode(spec.qos())
        + EtcdKeyFields.encode(spec.encryption());
  }

  /** A parsed info value: the volume's id, spec, creation time and origin (or null). */
  record Info(long id, VolumeSpec spec, Instant created, CloneOrigin origin) {
    Info(long id, VolumeSpec spec, Instant created) {
      this(id, spec, created, null);
    }
  }

  static Info decodeInfo(String key, String value) {
    Matcher m = INFO.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 volume info value");
    }
    try {
      VolumeSpec spec = new VolumeSpec(m.group(6), Long.parseLong(m.group(2)),
          Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
          EtcdKeyFields.decode(m, 17), EtcdErasureField.decode(m, 10),
          EtcdQosField.decode(m, 12));
      CloneOrigin origin = m.group(7) == null ? null : new CloneOrigin(
          Long.parseUnsignedLong(m.group(7), 16), m.group(8), m.group(9));
      return new Info(Long.parseLong(m.group(1)), spec, Instant.parse(m.group(5)), origin);
    } catch (NumberFormatException | DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    } catch (IllegalArgumentException e) { // odd hex digits
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeHead(BlockRef root, long generation, long reserved) {
    String v = "v1 generation=" + generation + " root=" + encodeRoot(root);
    return reserved == generation ? v : v + " reserved=" + reserved;
  }

  private static String encodeRoot(BlockRef root) {
    return root == null ? "none" : root.kind().name().toLowerCase(Locale.ROOT) + ":"
        + root.volumeId() + "/" + root.generation() + "/" + root.sequence();
  }

  /** Decodes the root matched by {@link #ROOT_RE} starting at group {@code g}. */
  private static BlockRef decodeRoot(Matcher m, int g) {
    if (m.group(g) == null) {
      return null;
    }
    return new BlockRef(Long.parseLong(m.group(g + 1)), Long.parseLong(m.group(g + 2)),
        Integer.parseInt(m.group(g + 3)), kind(m.group(g)));
  }

  /** The value of a journal key: the peers, in order, and the epoch of the writer that set it. */
  static String encodeJournal(List<String> peers, long epoch) {
    return "v1 epoch=" + epoch + " peers=" + String.join(",", peers);
  }

  /** The peers of a journal key's value. */
  static List<String> decodeJournal(String key, String value) {
    Matcher m = JOURNAL.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 journal value");
    }
    return List.of(m.group(2).split(","));
  }

  /** A parsed head value. */
  record HeadValue(BlockRef root, long generation, long reserved) {}

  static HeadValue decodeHead(String key, String value) {
    Matcher m = HEAD.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 head value");
    }
    try {
      long generation = Long.parseLong(m.group(1));
      long reserved = m.group(6) == null ? generation : Long.parseLong(m.group(6));
      if (reserved < generation) {
        throw corrupt(key, value, "reserved generation below the committed one");
      }
      return new HeadValue(decodeRoot(m, 2), generation, reserved);
    } catch (NumberFormatException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  /** The record value of a snapshot. */
  static String encodeSnapshot(Snapshot s) {
    return "v1 volume=" + s.volumeId() + " name=" + s.name() + " size=" + s.size()
        + " generation=" + s.generation() + " root=" + encodeRoot(s.root()) + " created="
        + s.created();
  }

  /**
   * Decodes a snapshot record stored under {@code key}, of the volume named
   * {@code volumeName}; the record must name the volume id and snapshot name of its key.
   */
  static Snapshot decodeSnapshot(String key, String value, long volumeId, String snapshotName,
      String volumeName) {
    Matcher m = SNAPSHOT.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 snapshot record");
    }
    try {
      Snapshot s = new Snapshot(Long.parseLong(m.group(1)), volumeName, m.group(2),
          decodeRoot(m, 5), Long.parseLong(m.group(4)), VolumeSpec.checkSize(
          Long.parseLong(m.group(3))), Instant.parse(m.group(9)));
      if (s.volumeId() != volumeId || !s.name().equals(snapshotName)) {
        throw TorusException.invalid("names volume " + s.volumeId() + " snapshot '"
            + s.name() + "', but is stored as volume " + volumeId + " snapshot '"
            + snapshotName + "'");
      }
      return s;
    } catch (NumberFormatException | DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  /** A peer's member value ({@code lease} null) or alive value (under {@code lease}). */
  static String encodePeer(PeerInfo p, Long lease) {
    return "v1 node=" + p.nodeId() + " address=" + p.address() + " capacity="
        + p.capacityBytes() + " used=" + p.usedBytes() + " protocol=" + p.protocolVersion()
        + " started=" + p.started() + (lease == null ? "" : " lease=" + hex(lease));
  }

  /** A parsed peer value; {@code lease} is null for a member record. */
  record PeerValue(PeerInfo info, Long lease) {}

  static PeerValue decodePeer(String key, String value) {
    Matcher m = PEER.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 peer record");
    }
    try {
      PeerInfo p = new PeerInfo(m.group(1), m.group(2), Long.parseLong(m.group(3)),
          Long.parseLong(m.group(4)), Integer.parseInt(m.group(5)), Instant.parse(m.group(6)));
      Long lease = m.group(7) == null ? null : Long.parseUnsignedLong(m.group(7), 16);
      return new PeerValue(p, lease);
    } catch (NumberFormatException | DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeRing(VersionedRing r) {
    return "v1 version=" + r.version() + " length=" + r.length() + " data="
        + Base64.getEncoder().encodeToString(r.bytes());
  }

  static String encodeReport(ReplicationReport r) {
    return "v1 node=" + r.nodeId() + " ring=" + r.ringVersion() + " done=" + r.done()
        + " scanned=" + r.scanned() + " total=" + r.total() + " missing=" + r.missing()
        + " to-move=" + r.bytesToMove() + " moved=" + r.bytesMoved() + " rate="
        + r.rateBytesPerSecond() + " scrubbed=" + r.scrubbed() + " corrupt="
        + r.corruptFound() + " repaired=" + r.repaired() + " updated=" + r.updated();
  }

  static ReplicationReport decodeReport(String key, String value) {
    Matcher m = REPORT.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 replication report");
    }
    try {
      long[] n = new long[10];
      for (int i = 0; i < n.length; i++) {
        n[i] = Long.parseLong(m.group(i < 1 ? 2 : i + 3));
      }
      return new ReplicationReport(m.group(1), n[0], Boolean.parseBoolean(m.group(3)), n[1],
          n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], Instant.parse(m.group(13)));
    } catch (NumberFormatException | DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeDrain(String nodeId, Instant requested) {
    return "v1 node=" + PeerInfo.checkNodeId(nodeId) + " requested=" + requested;
  }

  /** The node id of a drain request. */
  static String decodeDrain(String key, String value) {
    Matcher m = DRAIN.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 drain request");
    }
    try {
      Instant.parse(m.group(2));
      return PeerInfo.checkNodeId(m.group(1));
    } catch (DateTimeParseException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static VersionedRing decodeRing(String key, String value) {
    Matcher m = RING.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 ring value");
    }
    try {
      byte[] bytes = Base64.getDecoder().decode(m.group(3));
      if (bytes.length != Integer.parseInt(m.group(2))) {
        throw TorusException.invalid("length says " + m.group(2) + " bytes, data holds "
            + bytes.length);
      }
      return new VersionedRing(Long.parseLong(m.group(1)), bytes);
    } catch (IllegalArgumentException | TorusException e) {
      throw corrupt(key, value, e.getMessage());
    }
  }

  static String encodeCandidate(String candidate) {
    return "v1 candidate=" + candidate;
  }

  static String decodeCandidate(String key, String value) {
    Matcher m = CANDIDATE.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, value, "not a v1 candidate value");
    }
    return m.group(1);
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

  // ---- cluster token (peer protocol capability) ----

  private static final Pattern TOKEN = Pattern.compile("v1 token=([0-9a-f]{32})");

  /**
   * The cluster's internal capability: {@code cluster/token} = {@code v1 token=HEX} (32
   * lowercase hex digits, 128 random bits), created once, if absent, by the first node that
   * starts; never changed. Peers accept deletes without a fencing epoch only with it.
   */
  String clusterTokenKey() {
    return base + "cluster/token";
  }

  /** The cluster defaults record ({@code cluster/defaults}, see {@link EtcdClusterDefaults}). */
  String clusterDefaultsKey() {
    return base + "cluster/defaults";
  }

  static String encodeToken(byte[] token) {
    StringBuilder b = new StringBuilder("v1 token=");
    for (byte x : token) {
      b.append(String.format("%02x", x & 0xff));
    }
    return b.toString();
  }

  static byte[] decodeToken(String key, String value) {
    Matcher m = TOKEN.matcher(value);
    if (!m.matches()) {
      throw corrupt(key, "(not shown)", "not a v1 cluster token");
    }
    byte[] out = new byte[16];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(m.group(1).substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }
}
