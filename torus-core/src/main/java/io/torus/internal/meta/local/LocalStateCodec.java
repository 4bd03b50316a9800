package io.torus.internal.meta.local;

import io.torus.spi.BlockRef;
import io.torus.Erasure;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeKeys;
import io.torus.VolumeQos;
import io.torus.VolumeSpec;
import io.torus.internal.Crc32c;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.VersionedRing;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Snapshot;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.TreeMap;

/**
 * The binary form of {@link LocalState}, the file {@code metadata} of a local metadata
 * directory. Big-endian throughout.
 *
 * <pre>
 * File
 * +--------+------+--------------------------------------------------------------+
 * | offset | size | field                                                        |
 * +--------+------+--------------------------------------------------------------+
 * | 0      | 4    | magic "TRMD" (0x54 0x52 0x4D 0x44)                           |
 * | 4      | 2    | format version, 7 (versions 1 to 6 are still read)           |
 * | 6      | 2    | flags, 0                                                     |
 * | 8      | 4    | body length B                                                |
 * | 12     | B    | body                                                         |
 * | 12+B   | 4    | CRC32C of bytes 0 .. 12+B-1                                  |
 * +--------+------+--------------------------------------------------------------+
 * The file is exactly 16+B bytes long.
 *
 * Body
 * +------+-------------------------------------------------------------------------+
 * | size | field                                                                   |
 * +------+-------------------------------------------------------------------------+
 * | 8    | next volume id (ids are never reused)                                   |
 * | 8    | last revision handed out (head revisions and lock epochs)               |
 * | 4    | volume count N                                                          |
 * | ...  | N volume entries, sorted by name                                        |
 * | -- version 4 only from here --                                                 |
 * | 4    | peer member count M                                                     |
 * | ...  | M member entries, sorted by node id                                     |
 * | 1    | ring present: 0 or 1                                                    |
 * | 8    | ring version (>= 1)                      } only when present            |
 * | 4    | ring length R (1 .. 16 MiB)              } only when present            |
 * | R    | ring bytes (see {@link io.torus.internal.ring.RingCodec}) } when present |
 * +------+-------------------------------------------------------------------------+
 *
 * Volume entry
 * +------+-------------------------------------------------------------------------+
 * | 8    | volume id                                                               |
 * | 2    | name length L (1..128)                                                  |
 * | L    | name, ASCII                                                             |
 * | 8    | size in bytes                                                           |
 * | 4    | block size in bytes                                                     |
 * | 1    | replication                                                             |
 * | 8    | created: seconds since the epoch                                        |
 * | 4    | created: nanoseconds                                                    |
 * | 8    | head generation                                                         |
 * | 8    | head revision                                                           |
 * | 1    | root present: 0 (all holes) or 1                                        |
 * | 24   | root BlockRef (see {@link BlockRef}), only when present                 |
 * | -- version 2 only from here --                                                 |
 * | 1    | origin present: 0 (created empty) or 1 (a clone)                        |
 * | 8    | origin volume id                  } only when present                   |
 * | 2+L  | origin volume name (length, ASCII)} only when present                   |
 * | 2+L  | origin snapshot name              } only when present                   |
 * | 4    | snapshot count S                                                        |
 * | ...  | S snapshot entries, sorted by name                                      |
 * | -- version 3 only from here --                                                 |
 * | 8    | reserved generation (>= head generation; see {@link io.torus.spi.Head}) |
 * | -- version 5 only from here --                                                 |
 * | 1    | encrypted: 0 or 1                                                       |
 * | 2+L  | cipher, "aes-256-gcm"             } only when encrypted                 |
 * | 2+L  | key-encryption key id             } only when encrypted                 |
 * | 1    | key count K (1..64)               } only when encrypted                 |
 * | ...  | K keys: 8 volume id (0 = own), 2 length W (1..512), W wrapped key bytes  |
 * | -- version 6 only from here --                                                 |
 * | 1    | erasure-coded: 0 (replicated) or 1                                      |
 * | 1    | data shards k (1..16)             } only when erasure-coded             |
 * | 1    | parity shards m (1..8)            } only when erasure-coded             |
 * | -- version 7 only from here --                                                 |
 * | 1    | I/O limits: 0 (none: VolumeQos.UNLIMITED) or 1                          |
 * | 8    | read requests per second, 0: no limit } only when limited               |
 * | 8    | write requests per second             } only when limited               |
 * | 8    | read bytes per second                 } only when limited               |
 * | 8    | written bytes per second              } only when limited               |
 * | 4    | burst in milliseconds (1..3600000)    } only when limited               |
 * +------+-------------------------------------------------------------------------+
 *
 * Member entry (version 4): a peer that shares the service, as it last registered
 * +------+-------------------------------------------------------------------------+
 * | 2+L  | node id (length, ASCII)                                                 |
 * | 2+L  | address host:port (length, ASCII)                                       |
 * | 8    | capacity in bytes                                                       |
 * | 8    | used bytes                                                              |
 * | 4    | peer protocol version                                                   |
 * | 8    | started: seconds since the epoch                                        |
 * | 4    | started: nanoseconds                                                    |
 * +------+-------------------------------------------------------------------------+
 *
 * Snapshot entry (version 2)
 * +------+-------------------------------------------------------------------------+
 * | 2+L  | name (length, ASCII)                                                    |
 * | 8    | volume size in bytes when taken                                         |
 * | 8    | created: seconds since the epoch                                        |
 * | 4    | created: nanoseconds                                                    |
 * | 8    | generation                                                              |
 * | 1    | root present: 0 or 1                                                    |
 * | 24   | root BlockRef, only when present                                        |
 * +------+-------------------------------------------------------------------------+
 * </pre>
 *
 * <p>Decoding checks the magic, version, length, CRC and every field; any mismatch is an
 * {@link ErrorCode#EIO} error naming the file and what is wrong.
 */
final class LocalStateCodec {
  /** "TRMD". */
  static final int MAGIC = 0x54524D44;
  /** The format version written. */
  static final int VERSION = 7;
  /** The oldest format version read (no origins, no snapshots). */
  static final int MIN_VERSION = 1;
  static final int HEADER_BYTES = 12;
  static final int TRAILER_BYTES = 4;
  /** The largest ring stored (a ring of thousands of peers is well below). */
  static final int MAX_RING_BYTES = 16 << 20;

  private LocalStateCodec() {}

  /** The file bytes of {@code state}. */
  static byte[] encode(LocalState state) {
    return encode(state, VERSION);
  }

  /**
   * The file bytes of {@code state} in format {@code version} (1 drops origins and
   * snapshots, 1 and 2 drop the reserved generation, 1 to 3 drop peers and ring, 1 to 4
   * drop keys, 1 to 5 drop erasure policies, 1 to 6 drop I/O limits).
   */
  static byte[] encode(LocalState state, int version) {
    ByteBuffer body = ByteBuffer.allocate(1 << 16);
    body.putLong(state.nextVolumeId()).putLong(state.revision());
    body.putInt(state.volumes().size());
    for (VolumeRecord v : state.volumes().values()) {
      body = ensure(body, 640 + v.snapshots().size() * 200
          + (v.encryption() == null ? 0 : 600 + v.encryption().keys().size() * 530));
      body.putLong(v.id());
      putName(body, v.name());
      body.putLong(v.size()).putInt(v.blockSize()).put((byte) v.replication());
      putInstant(body, v.created());
      body.putLong(v.generation()).putLong(v.revision());
      putRoot(body, v.root());
      if (version >= 2) {
        CloneOrigin o = v.origin();
        if (o == null) {
          body.put((byte) 0);
        } else {
          body.put((byte) 1).putLong(o.volumeId());
          putName(body, o.volumeName());
          putName(body, o.snapshot());
        }
        body.putInt(v.snapshots().size());
        for (Snapshot snap : v.snapshots().values()) {
          putName(body, snap.name());
          body.putLong(snap.size());
          putInstant(body, snap.created());
          body.putLong(snap.generation());
          putRoot(body, snap.root());
        }
      }
      if (version >= 3) {
        body.putLong(v.reserved());
      }
      if (version >= 5) {
        putKeys(body, v.encryption());
      }
      if (version >= 6) {
        putErasure(body, v.erasure());
      }
      if (version >= 7) {
        putQos(body, v.qos());
      }
    }
    if (version >= 4) {
      body = putCoordination(body, state);
    }
    body.flip();
    int len = body.remaining();
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + len + TRAILER_BYTES);
    b.putInt(MAGIC).putShort((short) version).putShort((short) 0).putInt(len);
    b.put(body);
    b.putInt(Crc32c.of(b.array(), 0, HEADER_BYTES + len));
    return b.array();
  }

  private static ByteBuffer ensure(ByteBuffer b, int more) {
    if (b.remaining() >= more) {
      return b;
    }
    ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + more));
    b.flip();
    return bigger.put(b);
  }

  private static ByteBuffer putCoordination(ByteBuffer body, LocalState state) {
    body = ensure(body, 4 + state.members().size() * 600);
    body.putInt(state.members().size());
    for (PeerInfo p : state.members().values()) {
      putName(body, p.nodeId());
      putName(body, p.address());
      body.putLong(p.capacityBytes()).putLong(p.usedBytes()).putInt(p.protocolVersion());
      putInstant(body, p.started());
    }
    VersionedRing ring = state.ring();
    byte[] rb = ring == null ? new byte[0] : ring.bytes();
    body = ensure(body, 13 + rb.length);
    if (ring == null) {
      body.put((byte) 0);
    } else {
      body.put((byte) 1).putLong(ring.version()).putInt(rb.length).put(rb);
    }
    return body;
  }

  private static void putKeys(ByteBuffer b, VolumeKeys keys) {
    if (keys == null) {
      b.put((byte) 0);
      return;
    }
    b.put((byte) 1);
    putName(b, keys.cipher());
    putName(b, keys.kekId());
    b.put((byte) keys.keys().size());
    for (VolumeKeys.Wrapped w : keys.keys()) {
      byte[] k = w.wrapped();
      b.putLong(w.volumeId()).putShort((short) k.length).put(k);
    }
  }

  private static void putErasure(ByteBuffer b, Erasure erasure) {
    if (erasure == null) {
      b.put((byte) 0);
    } else {
      b.put((byte) 1).put((byte) erasure.dataShards()).put((byte) erasure.parityShards());
    }
  }

  private static void putQos(ByteBuffer b, VolumeQos qos) {
    if (qos.equals(VolumeQos.UNLIMITED)) {
      b.put((byte) 0);
    } else {
      b.put((byte) 1).putLong(qos.readIops()).putLong(qos.writeIops())
          .putLong(qos.readBytesPerSecond()).putLong(qos.writeBytesPerSecond())
          .putInt((int) qos.burst().toMillis());
    }
  }

  private static VolumeQos getQos(ByteBuffer b) {
    int limited = b.get();
    if (limited == 0) {
      return VolumeQos.UNLIMITED;
    }
    if (limited != 1) {
      throw TorusException.invalid("I/O limits flag " + limited);
    }
    return new VolumeQos(b.getLong(), b.getLong(), b.getLong(), b.getLong(),
        java.time.Duration.ofMillis(b.getInt()));
  }

  private static Erasure getErasure(ByteBuffer b) {
    int coded = b.get();
    if (coded == 0) {
      return null;
    }
    if (coded != 1) {
      throw TorusException.invalid("erasure flag " + coded);
    }
    return new Erasure(b.get() & 0xff, b.get() & 0xff);
  }

  private static VolumeKeys getKeys(ByteBuffer b) {
    int encrypted = b.get();
    if (encrypted == 0) {
      return null;
    }
    if (encrypted != 1) {
      throw TorusException.invalid("encrypted flag " + encrypted);
    }
    String cipher = getName(b);
    String kekId = getName(b);
    int count = b.get() & 0xff;
    java.util.List<VolumeKeys.Wrapped> keys = new java.util.ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long volumeId = b.getLong();
      byte[] k = new byte[b.getShort() & 0xffff];
      b.get(k);
      keys.add(new VolumeKeys.Wrapped(volumeId, k));
    }
    return new VolumeKeys(cipher, kekId, keys);
  }

  private static void putName(ByteBuffer b, String name) {
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    b.putShort((short) bytes.length).put(bytes);
  }

  private static void putInstant(ByteBuffer b, Instant t) {
    b.putLong(t.getEpochSecond()).putInt(t.getNano());
  }

  private static void putRoot(ByteBuffer b, BlockRef root) {
    if (root == null) {
      b.put((byte) 0);
    } else {
      b.put((byte) 1);
      root.writeTo(b);
    }
  }

  /**
   * Decodes file bytes.
   *
   * @param source what to name in error messages (the file's path)
   * @throws TorusException {@link ErrorCode#EIO} if the bytes are not a valid state
   */
  static LocalState decode(byte[] bytes, String source) {
    if (bytes.length < HEADER_BYTES + TRAILER_BYTES) {
      throw corrupt(source, "file too short (" + bytes.length + " bytes), torn write?");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int magic = b.getInt();
    if (magic != MAGIC) {
      throw corrupt(source, String.format("bad magic 0x%08x", magic));
    }
    int version = b.getShort() & 0xffff;
    if (version < MIN_VERSION || version > VERSION) {
      throw corrupt(source, "unsupported format version " + version + " (this build reads "
          + MIN_VERSION + " to " + VERSION + ")");
    }
    b.getShort();
    long body = b.getInt() & 0xffffffffL;
    if (HEADER_BYTES + body + TRAILER_BYTES != bytes.length) {
      throw corrupt(source, "length mismatch: header says " + body + "-byte body, file has "
          + bytes.length + " bytes, torn write?");
    }
    int stored = ByteBuffer.wrap(bytes, bytes.length - TRAILER_BYTES, TRAILER_BYTES).getInt();
    int actual = Crc32c.of(bytes, 0, bytes.length - TRAILER_BYTES);
    if (stored != actual) {
      throw corrupt(source, String.format("CRC32C mismatch: stored 0x%08x, computed 0x%08x",
          stored, actual));
    }
    b.limit(bytes.length - TRAILER_BYTES);
    try {
      return decodeBody(b, version);
    } catch (BufferUnderflowException e) {
      throw corrupt(source, "body ends early", e);
    } catch (TorusException | DateTimeException e) {
      throw corrupt(source, e.getMessage(), e);
    }
  }

  private static LocalState decodeBody(ByteBuffer b, int version) {
    long nextId = b.getLong();
    long revision = b.getLong();
    int count = b.getInt();
    if (nextId < 1 || revision < 0 || count < 0) {
      throw TorusException.invalid("bad counters: next id " + nextId + ", revision " + revision
          + ", volumes " + count);
    }
    TreeMap<String, VolumeRecord> volumes = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      VolumeRecord v = decodeVolume(b, version);
      if (v.id() >= nextId || v.revision() > revision || volumes.put(v.name(), v) != null) {
        throw TorusException.invalid("inconsistent volume entry " + i + ": " + v);
      }
    }
    TreeMap<String, PeerInfo> members = new TreeMap<>();
    VersionedRing ring = null;
    if (version >= 4) {
      int m = b.getInt();
      if (m < 0) {
        throw TorusException.invalid("peer member count " + m);
      }
      for (int i = 0; i < m; i++) {
        PeerInfo p = new PeerInfo(getName(b), getName(b), b.getLong(), b.getLong(), b.getInt(),
            getInstant(b));
        if (members.put(p.nodeId(), p) != null) {
          throw TorusException.invalid("peer '" + p.nodeId() + "' stored twice");
        }
      }
      int hasRing = b.get();
      if (hasRing == 1) {
        long ringVersion = b.getLong();
        int len = b.getInt();
        if (ringVersion < 1 || len < 1 || len > MAX_RING_BYTES || len > b.remaining()) {
          throw TorusException.invalid("ring version " + ringVersion + ", length " + len);
        }
        byte[] rb = new byte[len];
        b.get(rb);
        ring = new VersionedRing(ringVersion, rb);
      } else if (hasRing != 0) {
        throw TorusException.invalid("ring flag " + hasRing);
      }
    }
    if (b.hasRemaining()) {
      throw TorusException.invalid(b.remaining() + " trailing bytes after the last "
          + (version >= 4 ? "field" : "volume"));
    }
    return new LocalState(nextId, revision, volumes, members, ring);
  }

  private static VolumeRecord decodeVolume(ByteBuffer b, int version) {
    long id = b.getLong();
    String name = getName(b);
    long size = b.getLong();
    int blockSize = b.getInt();
    int replication = b.get() & 0xff;
    Instant created = getInstant(b);
    long generation = b.getLong();
    long revision = b.getLong();
    BlockRef root = getRoot(b);
    // Validates name, size, block size and replication the same way a new volume is.
    VolumeSpec spec = new VolumeSpec(name, size, blockSize, replication);
    if (id < 1 || generation < 0 || revision < 0) {
      throw TorusException.invalid("id " + id + ", generation " + generation
          + ", revision " + revision);
    }
    CloneOrigin origin = null;
    TreeMap<String, Snapshot> snapshots = new TreeMap<>();
    if (version >= 2) {
      int hasOrigin = b.get();
      if (hasOrigin == 1) {
        origin = new CloneOrigin(b.getLong(), getName(b), getName(b));
      } else if (hasOrigin != 0) {
        throw TorusException.invalid("origin flag " + hasOrigin);
      }
      int count = b.getInt();
      if (count < 0) {
        throw TorusException.invalid("snapshot count " + count);
      }
      for (int i = 0; i < count; i++) {
        String snapName = getName(b);
        long snapSize = VolumeSpec.checkSize(b.getLong());
        Instant snapCreated = getInstant(b);
        long snapGeneration = b.getLong();
        Snapshot s = new Snapshot(id, spec.name(), snapName, getRoot(b), snapGeneration,
            snapSize, snapCreated);
        if (snapshots.put(snapName, s) != null) {
          throw TorusException.invalid("snapshot '" + snapName + "' of volume '" + name
              + "' stored twice");
        }
      }
    }
    long reserved = generation;
    if (version >= 3) {
      reserved = b.getLong();
      if (reserved < generation) {
        throw TorusException.invalid("reserved generation " + reserved + " < generation "
            + generation);
      }
    }
    VolumeKeys keys = version >= 5 ? getKeys(b) : null;
    Erasure erasure = version >= 6 ? getErasure(b) : null;
    VolumeQos qos = version >= 7 ? getQos(b) : VolumeQos.UNLIMITED;
    // Validates the replication against the policy the same way a new volume's is.
    new VolumeSpec(name, size, blockSize, replication, null, erasure);
    return new VolumeRecord(id, spec.name(), size, blockSize, replication, created, root,
        generation, revision, origin, snapshots, reserved, keys, erasure, qos);
  }

  private static String getName(ByteBuffer b) {
    int len = b.getShort() & 0xffff;
    byte[] name = new byte[len];
    b.get(name);
    return new String(name, StandardCharsets.US_ASCII);
  }

  private static Instant getInstant(ByteBuffer b) {
    return Instant.ofEpochSecond(b.getLong(), b.getInt());
  }

  private static BlockRef getRoot(ByteBuffer b) {
    int hasRoot = b.get();
    if (hasRoot == 0) {
      return null;
    } else if (hasRoot == 1) {
      return BlockRef.readFrom(b);
    }
    throw TorusException.invalid("root flag " + hasRoot);
  }

  private static TorusException corrupt(String source, String why) {
    return corrupt(source, why, null);
  }

  private static TorusException corrupt(String source, String why, Throwable cause) {
    return new TorusException(ErrorCode.EIO, "corrupt local metadata file " + source + ": "
        + why, cause);
  }
}
