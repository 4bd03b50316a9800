package io.torus.internal.ring;

import io.torus.internal.Crc32c;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary form of a ring, format version 1, as stored in etcd. Big-endian.
 *
 * <pre>
 * +-------+--------+------+----------+---------+------+--------+
 * | 0..3  | 4      | 5    | 6..7     | 8..15   | 16.. | last 4 |
 * | magic | format | type | reserved | version | body | crc32c |
 * +-------+--------+------+----------+---------+------+--------+
 * magic = "TRNG", format = 1, type = RingType id, reserved = 0,
 * crc32c = CRC32C of every byte before it.
 *
 * body of SINGLE, MODULO, KETAMA:
 * +----------------+-------+-------------------------------------------+
 * | u32            | u32   | count x                                   |
 * | pointsPerUnit  | count | u8 idLength | id (UTF-8) | u64 weight     |
 * +----------------+-------+-------------------------------------------+
 * pointsPerUnit is 0 unless the type is KETAMA; members sorted by id.
 *
 * body of UNION:
 * +--------+------------------+---------+-------------------+
 * | u32    | oldLength bytes  | u32     | nextLength bytes  |
 * | oldLen | old ring (v1)    | nextLen | next ring (v1)    |
 * +--------+------------------+---------+-------------------+
 * </pre>
 *
 * <p>Decoding is strict: a wrong magic, format, checksum, length or value is an
 * {@link ErrorCode#EIO} error. Stateless and thread-safe.
 */
public final class RingCodec {
  /** The format version written. */
  public static final int FORMAT = 1;
  private static final int MAGIC = 0x54524E47; // "TRNG"

  private RingCodec() {}

  /** The ring's binary form. */
  public static byte[] encode(Ring ring) {
    ByteBuffer body = body(ring);
    ByteBuffer out = ByteBuffer.allocate(16 + body.remaining() + 4);
    out.putInt(MAGIC).put((byte) FORMAT).put((byte) ring.type().id()).putShort((short) 0)
        .putLong(ring.version()).put(body);
    out.putInt(Crc32c.of(out.array(), 0, out.position()));
    return out.array();
  }

  private static ByteBuffer body(Ring ring) {
    if (ring instanceof UnionRing) {
      UnionRing u = (UnionRing) ring;
      byte[] old = encode(u.old());
      byte[] next = encode(u.next());
      return ByteBuffer.allocate(8 + old.length + next.length)
          .putInt(old.length).put(old).putInt(next.length).put(next).flip();
    }
    int ppu = ring instanceof KetamaRing ? ((KetamaRing) ring).pointsPerUnit() : 0;
    List<RingPeer> members = ring.members();
    int size = 8;
    for (RingPeer p : members) {
      size += 1 + p.id().getBytes(StandardCharsets.UTF_8).length + 8;
    }
    ByteBuffer b = ByteBuffer.allocate(size).putInt(ppu).putInt(members.size());
    for (RingPeer p : members) {
      byte[] id = p.id().getBytes(StandardCharsets.UTF_8);
      b.put((byte) id.length).put(id).putLong(p.weight());
    }
    return b.flip();
  }

  /** Decodes a ring; throws {@link TorusException} (EIO) if the bytes are not a valid ring. */
  public static Ring decode(byte[] bytes) {
    try {
      return decodeChecked(bytes);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw corrupt("truncated or malformed: " + e);
    } catch (TorusException e) {
      if (e.code() == ErrorCode.EIO) {
        throw e;
      }
      throw corrupt(e.getMessage());
    }
  }

  private static Ring decodeChecked(byte[] bytes) {
    if (bytes.length < 20) {
      throw corrupt("only " + bytes.length + " bytes");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    if (Crc32c.of(bytes, 0, bytes.length - 4) != in.getInt(bytes.length - 4)) {
      throw corrupt("checksum mismatch");
    }
    if (in.getInt() != MAGIC) {
      throw corrupt("bad magic");
    }
    int format = in.get() & 0xff;
    if (format != FORMAT) {
      throw corrupt("unsupported ring format " + format);
    }
    RingType type = RingType.ofId(in.get() & 0xff);
    if (in.getShort() != 0) {
      throw corrupt("non-zero reserved bytes");
    }
    long version = in.getLong();
    in.limit(bytes.length - 4);
    Ring ring;
    if (type == RingType.UNION) {
      Ring old = decode(slice(in));
      Ring next = decode(slice(in));
      ring = new UnionRing(version, old, next);
    } else {
      ring = simple(type, version, in);
    }
    if (in.hasRemaining()) {
      throw corrupt(in.remaining() + " trailing bytes");
    }
    return ring;
  }

  private static byte[] slice(ByteBuffer in) {
    byte[] b = new byte[in.getInt()];
    in.get(b);
    return b;
  }

  private static Ring simple(RingType type, long version, ByteBuffer in) {
    int ppu = in.getInt();
    int count = in.getInt();
    if (count < 1 || count > in.remaining() / 10) {
      throw corrupt("bad member count " + count);
    }
    List<RingPeer> peers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] id = new byte[in.get() & 0xff];
      in.get(id);
      peers.add(new RingPeer(new String(id, StandardCharsets.UTF_8), in.getLong()));
    }
    switch (type) {
      case KETAMA:
        return new KetamaRing(version, peers, ppu);
      case MODULO:
        return new ModuloRing(version, peers);
      case SINGLE:
        if (count != 1) {
          throw corrupt("single-peer ring with " + count + " members");
        }
        return new SinglePeerRing(version, peers.get(0));
      default:
        throw corrupt("unexpected ring type " + type);
    }
  }

  private static TorusException corrupt(String why) {
    return new TorusException(ErrorCode.EIO, "corrupt ring encoding: " + why);
  }
}
