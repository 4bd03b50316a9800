package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Encoders for every frame the server sends. Each method returns a new buffer owned by the
 * caller (normally handed straight to {@code Channel.write}, which releases it). All
 * integers are big-endian.
 *
 * <pre>
 * Greeting (18 bytes)
 * +0  u64 NBDMAGIC   0x4e42444d41474943
 * +8  u64 IHAVEOPT   0x49484156454F5054
 * +16 u16 handshake flags (FIXED_NEWSTYLE | NO_ZEROES)
 *
 * Option reply (20 + n bytes)
 * +0  u64 magic      0x0003e889045565a9
 * +8  u32 option     the option being answered
 * +12 u32 reply type ACK 1, SERVER 2, INFO 3, META_CONTEXT 4, errors 2^31 + k
 * +16 u32 n          length of the data
 * +20 n   data
 *
 * EXPORT_NAME reply (10 bytes, or 134 without NO_ZEROES)
 * +0  u64 export size
 * +8  u16 transmission flags
 * +10 124 zero bytes, only if NO_ZEROES was not agreed
 *
 * Simple reply (16 bytes, then the data of a successful READ)
 * +0  u32 magic      0x67446698
 * +4  u32 error      0 or an errno
 * +8  u64 cookie     echoed from the request
 *
 * Structured reply chunk (20 + n bytes)
 * +0  u32 magic      0x668e33ef
 * +4  u16 flags      DONE 1
 * +6  u16 type       NONE 0, OFFSET_DATA 1, BLOCK_STATUS 5, ERROR 0x8001
 * +8  u64 cookie
 * +16 u32 n          length of the payload
 * +20 n   payload    OFFSET_DATA: u64 offset, data
 *                    BLOCK_STATUS: u32 context id, n x (u32 length, u32 flags)
 *                    ERROR: u32 errno, u16 message length, message (UTF-8)
 * </pre>
 */
public final class NbdCodec {
  private NbdCodec() {}

  /** The 18-byte greeting that opens a fixed newstyle handshake. */
  public static ByteBuf greeting(ByteBufAllocator alloc) {
    ByteBuf b = alloc.buffer(18);
    b.writeLong(Nbd.NBDMAGIC).writeLong(Nbd.IHAVEOPT);
    b.writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    return b;
  }

  /** An option reply carrying {@code data} (may be null for none); {@code data} is consumed. */
  public static ByteBuf optionReply(ByteBufAllocator alloc, int option, int type, byte[] data) {
    int n = data == null ? 0 : data.length;
    ByteBuf b = alloc.buffer(20 + n);
    b.writeLong(Nbd.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(n);
    if (n > 0) {
      b.writeBytes(data);
    }
    return b;
  }

  /** An error option reply whose data is a human-readable message. */
  public static ByteBuf optionError(ByteBufAllocator alloc, int option, int type, String msg) {
    return optionReply(alloc, option, type, msg.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code NBD_REP_SERVER}: u32 name length, name, then the description (may be empty). */
  public static ByteBuf serverReply(ByteBufAllocator alloc, String name, String description) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    byte[] d = description.getBytes(StandardCharsets.UTF_8);
    byte[] data = new byte[4 + n.length + d.length];
    putInt(data, 0, n.length);
    System.arraycopy(n, 0, data, 4, n.length);
    System.arraycopy(d, 0, data, 4 + n.length, d.length);
    return optionReply(alloc, Nbd.OPT_LIST, Nbd.REP_SERVER, data);
  }

  /** {@code NBD_INFO_EXPORT}: u16 type 0, u64 size, u16 transmission flags. */
  public static ByteBuf infoExport(ByteBufAllocator alloc, int option, long size, int flags) {
    byte[] data = new byte[12];
    putLong(data, 2, size);
    data[10] = (byte) (flags >>> 8);
    data[11] = (byte) flags;
    return optionReply(alloc, option, Nbd.REP_INFO, data);
  }

  /** {@code NBD_INFO_NAME} (type 1) or {@code NBD_INFO_DESCRIPTION} (type 2): u16, text. */
  public static ByteBuf infoText(ByteBufAllocator alloc, int option, int infoType, String text) {
    byte[] t = text.getBytes(StandardCharsets.UTF_8);
    byte[] data = new byte[2 + t.length];
    data[1] = (byte) infoType;
    System.arraycopy(t, 0, data, 2, t.length);
    return optionReply(alloc, option, Nbd.REP_INFO, data);
  }

  /** {@code NBD_INFO_BLOCK_SIZE}: u16 type 3, u32 minimum, u32 preferred, u32 maximum. */
  public static ByteBuf infoBlockSize(
      ByteBufAllocator alloc, int option, int min, int preferred, int max) {
    byte[] data = new byte[14];
    data[1] = Nbd.INFO_BLOCK_SIZE;
    putInt(data, 2, min);
    putInt(data, 6, preferred);
    putInt(data, 10, max);
    return optionReply(alloc, option, Nbd.REP_INFO, data);
  }

  /** {@code NBD_REP_META_CONTEXT}: u32 context id, context name. */
  public static ByteBuf metaContext(ByteBufAllocator alloc, int option, int id, String name) {
    byte[] t = name.getBytes(StandardCharsets.UTF_8);
    byte[] data = new byte[4 + t.length];
    putInt(data, 0, id);
    System.arraycopy(t, 0, data, 4, t.length);
    return optionReply(alloc, option, Nbd.REP_META_CONTEXT, data);
  }

  /** The reply to {@code NBD_OPT_EXPORT_NAME}: size, flags, 124 zeros unless NO_ZEROES. */
  public static ByteBuf exportNameReply(
      ByteBufAllocator alloc, long size, int flags, boolean noZeroes) {
    ByteBuf b = alloc.buffer(noZeroes ? 10 : 134);
    b.writeLong(size).writeShort(flags);
    if (!noZeroes) {
      b.writeZero(124);
    }
    return b;
  }

  /** A simple reply header without data. */
  public static ByteBuf simpleReply(ByteBufAllocator alloc, int error, long cookie) {
    ByteBuf b = alloc.buffer(Nbd.SIMPLE_REPLY_SIZE);
    writeSimpleHeader(b, error, cookie);
    return b;
  }

  /** Writes a simple reply header at the buffer's writer index. */
  public static void writeSimpleHeader(ByteBuf b, int error, long cookie) {
    b.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
  }

  /** Writes a structured chunk header at the buffer's writer index. */
  public static void writeChunkHeader(ByteBuf b, int flags, int type, long cookie, int length) {
    b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(flags).writeShort(type);
    b.writeLong(cookie).writeInt(length);
  }

  /** A final {@code NBD_REPLY_TYPE_NONE} chunk: success without payload. */
  public static ByteBuf noneChunk(ByteBufAllocator alloc, long cookie) {
    ByteBuf b = alloc.buffer(Nbd.CHUNK_HEADER_SIZE);
    writeChunkHeader(b, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
    return b;
  }

  /**
   * A final {@code NBD_REPLY_TYPE_ERROR} chunk: u32 errno, u16 message length, message. The
   * message is cut to 4096 bytes.
   */
  public static ByteBuf errorChunk(ByteBufAllocator alloc, long cookie, int errno, String msg) {
    byte[] m = (msg == null ? "" : msg).getBytes(StandardCharsets.UTF_8);
    int n = Math.min(m.length, 4096);
    ByteBuf b = alloc.buffer(Nbd.CHUNK_HEADER_SIZE + 6 + n);
    writeChunkHeader(b, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, cookie, 6 + n);
    b.writeInt(errno).writeShort(n).writeBytes(m, 0, n);
    return b;
  }

  /**
   * A final {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk for one context: each descriptor is a
   * pair (length, flags) of u32.
   */
  public static ByteBuf blockStatusChunk(
      ByteBufAllocator alloc, long cookie, int contextId, List<int[]> descriptors) {
    int n = 4 + 8 * descriptors.size();
    ByteBuf b = alloc.buffer(Nbd.CHUNK_HEADER_SIZE + n);
    writeChunkHeader(b, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, cookie, n);
    b.writeInt(contextId);
    for (int[] d : descriptors) {
      b.writeInt(d[0]).writeInt(d[1]);
    }
    return b;
  }

  private static void putInt(byte[] a, int at, int v) {
    a[at] = (byte) (v >>> 24);
    a[at + 1] = (byte) (v >>> 16);
    a[at + 2] = (byte) (v >>> 8);
    a[at + 3] = (byte) v;
  }

  private static void putLong(byte[] a, int at, long v) {
    putInt(a, at, (int) (v >>> 32));
    putInt(a, at + 4, (int) v);
  }
}
