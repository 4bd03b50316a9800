package io.torus.examples.cli;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import java.util.zip.Checksum;

/**
 * The incremental diff between two snapshots of a volume, as {@code torus volume export
 * --since} writes it and {@code torus volume import --diff} applies it. Format version 1,
 * big-endian, a stream (it can go through a pipe):
 *
 * <pre>
 * header
 * +--------+------+---------------------------------------------------------------+
 * | offset | size | field                                                         |
 * +--------+------+---------------------------------------------------------------+
 * | 0      | 4    | magic "TDIF" (0x54444946)                                     |
 * | 4      | 1    | format version, 1                                             |
 * | 5      | 3    | reserved, 0                                                   |
 * | 8      | 8    | volume size after the diff (the target snapshot's), bytes     |
 * | 16     | 4    | block size of the source volume, bytes (informational)        |
 * | 20     | 4    | digest chunk size, 65536                                      |
 * | 24     | 8    | base size (the base snapshot's), bytes                        |
 * | 32     | 32   | base content digest (see below)                               |
 * | 64     | 2    | B = base snapshot name length, 1..128                         |
 * | 66     | B    | base snapshot name, UTF-8                                     |
 * | 66+B   | 2    | T = target snapshot name length, 1..128                       |
 * | 68+B   | T    | target snapshot name, UTF-8                                   |
 * +--------+------+---------------------------------------------------------------+
 * records, in increasing offset order, not overlapping, inside the volume size
 * +------+-------------------------------------------------------------------------+
 * | type | then                                                                    |
 * +------+-------------------------------------------------------------------------+
 * | 0x01 | DATA: u64 offset, u32 length (1..4 MiB), length bytes                   |
 * | 0x02 | ZERO: u64 offset, u64 length (the range reads as zeros)                 |
 * | 0xFF | END:  u64 record count (DATA + ZERO), 32 bytes target content digest,   |
 * |      |       u32 CRC32C of every byte of the stream before this field          |
 * +------+-------------------------------------------------------------------------+
 * </pre>
 *
 * <p>A <b>content digest</b> identifies a volume's content whatever its block size or which
 * ranges are holes: SHA-256 over the u64 size, then, for every 64 KiB chunk {@code i} (the
 * last one may be shorter) that is not all zeros, u64 {@code i} and the chunk's bytes. The
 * importer refuses a diff unless the volume's digest equals the base digest, and checks the
 * result against the target digest before it commits anything.
 */
final class DiffFormat {
  static final int MAGIC = 0x54444946;
  static final int VERSION = 1;
  static final int TYPE_DATA = 1;
  static final int TYPE_ZERO = 2;
  static final int TYPE_END = 0xFF;
  static final int MAX_DATA = 4 << 20;

  private DiffFormat() {}

  /**
   * The header's fields.
   *
   * @param volumeSize the target snapshot's size
   * @param blockSize the source volume's block size
   * @param baseSize the base snapshot's size
   * @param baseDigest the base's content digest, 32 bytes
   * @param baseName the base snapshot's name
   * @param targetName the target snapshot's name
   */
  record Header(long volumeSize, int blockSize, long baseSize, byte[] baseDigest,
      String baseName, String targetName) {}

  /**
   * One record.
   *
   * @param type {@link #TYPE_DATA}, {@link #TYPE_ZERO} or {@link #TYPE_END}
   * @param offset first byte (DATA, ZERO)
   * @param length bytes covered (DATA, ZERO); the record count for END
   * @param data the bytes of DATA; the target digest for END; else null
   */
  record Record(int type, long offset, long length, byte[] data) {}

  /** Writes a diff; zero records that touch are merged. Not thread-safe. */
  static final class Writer {
    private final Checksum crc = new CRC32C();
    private final DataOutputStream out;
    private long count;
    private long zeroOffset = -1;
    private long zeroLength;

    Writer(OutputStream sink, Header h) throws IOException {
      this.out = new DataOutputStream(new CheckedOutputStream(sink, crc));
      out.writeInt(MAGIC);
      out.writeByte(VERSION);
      out.write(new byte[3]);
      out.writeLong(h.volumeSize());
      out.writeInt(h.blockSize());
      out.writeInt(ContentScan.CHUNK);
      out.writeLong(h.baseSize());
      if (h.baseDigest().length != 32) {
        throw new IllegalArgumentException("digest must be 32 bytes");
      }
      out.write(h.baseDigest());
      name(h.baseName());
      name(h.targetName());
    }

    private void name(String n) throws IOException {
      byte[] b = n.getBytes(StandardCharsets.UTF_8);
      out.writeShort(b.length);
      out.write(b);
    }

    /** A DATA record with {@code data}'s remaining bytes. */
    void data(long offset, ByteBuffer data) throws IOException {
      flushZero();
      int n = data.remaining();
      if (n < 1 || n > MAX_DATA) {
        throw new IllegalArgumentException("data record length must be 1 to 4 MiB: " + n);
      }
      out.writeByte(TYPE_DATA);
      out.writeLong(offset);
      out.writeInt(n);
      byte[] b = new byte[n];
      data.duplicate().get(b);
      out.write(b);
      count++;
    }

    /** A ZERO record (merged with the previous one if they touch). */
    void zero(long offset, long length) throws IOException {
      if (zeroOffset >= 0 && zeroOffset + zeroLength == offset) {
        zeroLength += length;
        return;
      }
      flushZero();
      zeroOffset = offset;
      zeroLength = length;
    }

    private void flushZero() throws IOException {
      if (zeroOffset >= 0) {
        out.writeByte(TYPE_ZERO);
        out.writeLong(zeroOffset);
        out.writeLong(zeroLength);
        count++;
        zeroOffset = -1;
      }
    }

    /** Writes the END record and flushes (the sink stays open). */
    void finish(byte[] targetDigest) throws IOException {
      flushZero();
      out.writeByte(TYPE_END);
      out.writeLong(count);
      out.write(targetDigest);
      out.flush();
      int sum = (int) crc.getValue();
      out.writeInt(sum);
      out.flush();
    }

    /** Records written so far. */
    long count() {
      return count;
    }
  }

  /** Reads a diff, checking its structure and checksum. Not thread-safe. */
  static final class Reader {
    private final Checksum crc = new CRC32C();
    private final DataInputStream in;
    private final Header header;
    private long count;
    private long next;

    /** Reads and checks the header; IOException naming what is wrong. */
    Reader(InputStream source) throws IOException {
      this.in = new DataInputStream(new CheckedInputStream(source, crc));
      try {
        if (in.readInt() != MAGIC) {
          throw new IOException("not a Torus diff (bad magic)");
        }
        int v = in.readUnsignedByte();
        if (v != VERSION) {
          throw new IOException("unsupported diff format version " + v + " (this torus reads "
              + VERSION + ")");
        }
        in.readFully(new byte[3]);
        long size = in.readLong();
        int bs = in.readInt();
        int chunk = in.readInt();
        if (chunk != ContentScan.CHUNK) {
          throw new IOException("unsupported digest chunk size " + chunk);
        }
        long baseSize = in.readLong();
        byte[] digest = new byte[32];
        in.readFully(digest);
        header = new Header(size, bs, baseSize, digest, name(), name());
      } catch (EOFException e) {
        throw new IOException("diff ends inside its header");
      }
    }

    private String name() throws IOException {
      int n = in.readUnsignedShort();
      if (n < 1 || n > 128) {
        throw new IOException("bad snapshot name length in diff header: " + n);
      }
      byte[] b = new byte[n];
      in.readFully(b);
      return new String(b, StandardCharsets.UTF_8);
    }

    Header header() {
      return header;
    }

    /**
     * The next record; after END (whose count and checksum were checked) returns null.
     * IOException for a truncated, unordered or damaged stream.
     */
    Record next() throws IOException {
      try {
        int type = in.readUnsignedByte();
        switch (type) {
          case TYPE_DATA: {
            long off = in.readLong();
            int n = in.readInt();
            check(off, n, n >= 1 && n <= MAX_DATA);
            byte[] b = new byte[n];
            in.readFully(b);
            count++;
            return new Record(type, off, n, b);
          }
          case TYPE_ZERO: {
            long off = in.readLong();
            long n = in.readLong();
            check(off, n, n >= 1);
            count++;
            return new Record(type, off, n, null);
          }
          case TYPE_END: {
            long n = in.readLong();
            byte[] digest = new byte[32];
            in.readFully(digest);
            int expected = (int) crc.getValue();
            int stored = in.readInt();
            if (stored != expected) {
              throw new IOException("diff is damaged: checksum mismatch");
            }
            if (n != count) {
              throw new IOException("diff is damaged: END says " + n + " records, read "
                  + count);
            }
            return new Record(type, 0, n, digest);
          }
          default:
            throw new IOException("diff is damaged: unknown record type " + type);
        }
      } catch (EOFException e) {
        throw new IOException("diff is truncated: it ends before its END record");
      }
    }

    private void check(long off, long n, boolean lengthOk) throws IOException {
      if (!lengthOk || off < next || off + n > header.volumeSize() || off + n < off) {
        throw new IOException("diff is damaged: bad record at offset " + off + ", length " + n);
      }
      next = off + n;
    }
  }

  /** A content digest (see the class doc), fed chunk by chunk in increasing order. */
  static final class Digest {
    private final MessageDigest sha;

    Digest(long size) {
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      sha.update(ByteBuffer.allocate(8).putLong(0, size));
    }

    /** Adds a chunk ({@code data} null or all zeros: nothing is added). */
    void chunk(long offset, ByteBuffer data) {
      if (data == null || ContentScan.isZero(data)) {
        return;
      }
      sha.update(ByteBuffer.allocate(8).putLong(0, offset / ContentScan.CHUNK));
      sha.update(data.duplicate());
    }

    byte[] finish() {
      return sha.digest();
    }

    static boolean same(byte[] a, byte[] b) {
      return Arrays.equals(a, b);
    }
  }
}
