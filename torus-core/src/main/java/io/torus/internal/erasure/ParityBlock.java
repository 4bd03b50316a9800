package io.torus.internal.erasure;

import io.torus.CorruptBlockException;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import java.nio.ByteBuffer;

/**
 * The stored form of a parity shard: a header describing its stripe, then the parity bytes.
 * Each parity shard carries the whole description, so any one of them tells a reader which
 * data shards the stripe has, how long each is and what its checksum is; a stripe needs no
 * record elsewhere.
 *
 * <pre>
 * offset     size  field
 * 0          4     magic "TPAR"
 * 4          1     version (1)
 * 5          1     k, data shards
 * 6          1     m, parity shards
 * 7          1     index of this parity shard, 0 to m-1
 * 8          4     present: bit i set = data shard i is part of the stripe
 * 12         4     L, shard length: every data shard is coded zero-padded to L bytes
 * 16         4·k   length of each data shard (0 for an absent one)
 * 16 + 4k    4·k   CRC32C of each data shard (0 for an absent one)
 * 16 + 8k    L     parity bytes ({@link ReedSolomon#encode} of the padded data shards)
 * </pre>
 *
 * All integers big-endian. An absent data shard (a position of the stripe's sequence range
 * that holds no data block: the stripe was written with fewer than k blocks) is coded as L
 * zero bytes, so it is known to every reader without being stored.
 *
 * @param k data shards of the stripe
 * @param m parity shards of the stripe
 * @param index this parity shard's number, 0 to m-1
 * @param present bit i set: data shard i is part of the stripe
 * @param shardLength L
 * @param lengths each data shard's length (0 if absent)
 * @param crcs each data shard's CRC32C (0 if absent)
 */
public record ParityBlock(int k, int m, int index, int present, int shardLength, int[] lengths,
    int[] crcs) {
  /** "TPAR". */
  public static final int MAGIC = 0x54504152;
  public static final int VERSION = 1;

  /** Bytes of the header of a stripe with {@code k} data shards. */
  public static int headerBytes(int k) {
    return 16 + 8 * k;
  }

  /** Whether data shard {@code i} is part of the stripe. */
  public boolean has(int i) {
    return (present >>> i & 1) != 0;
  }

  /** Whether another parity shard describes the same stripe as this one. */
  public boolean sameStripe(ParityBlock o) {
    return k == o.k && m == o.m && present == o.present && shardLength == o.shardLength
        && java.util.Arrays.equals(lengths, o.lengths) && java.util.Arrays.equals(crcs, o.crcs);
  }

  /**
   * The m parity blocks of a stripe whose data shards are {@code data} ({@code k} entries,
   * null for an absent shard; at least one present). Each buffer's remaining bytes are the
   * shard; buffers are not changed.
   *
   * @param k data shards, at most 31
   */
  public static ByteBuffer[] encode(ReedSolomon coder, ByteBuffer[] data) {
    int k = coder.dataShards();
    int m = coder.parityShards();
    if (data.length != k || k > 31) {
      throw TorusException.invalid("stripe of " + data.length + " data shards, coder " + coder);
    }
    int length = 0;
    int present = 0;
    int[] lengths = new int[k];
    int[] crcs = new int[k];
    for (int i = 0; i < k; i++) {
      if (data[i] != null) {
        present |= 1 << i;
        lengths[i] = data[i].remaining();
        crcs[i] = Crc32c.of(data[i]);
        length = Math.max(length, lengths[i]);
      }
    }
    if (present == 0) {
      throw TorusException.invalid("a stripe needs a data shard");
    }
    byte[] zeros = null;
    byte[][] in = new byte[k][];
    for (int i = 0; i < k; i++) {
      if (data[i] == null) {
        zeros = zeros != null ? zeros : new byte[length];
        in[i] = zeros;
      } else {
        in[i] = padded(data[i], length);
      }
    }
    byte[][] parity = new byte[m][length];
    coder.encode(in, parity, 0, length);
    ByteBuffer[] out = new ByteBuffer[m];
    for (int j = 0; j < m; j++) {
      ByteBuffer b = ByteBuffer.allocate(headerBytes(k) + length);
      b.putInt(MAGIC).put((byte) VERSION).put((byte) k).put((byte) m).put((byte) j)
          .putInt(present).putInt(length);
      for (int i = 0; i < k; i++) {
        b.putInt(lengths[i]);
      }
      for (int i = 0; i < k; i++) {
        b.putInt(crcs[i]);
      }
      out[j] = b.put(parity[j]).flip();
    }
    return out;
  }

  /**
   * The shard as an array of exactly {@code length} bytes: its own backing array when that is
   * already the case, else a zero-padded copy.
   */
  static byte[] padded(ByteBuffer shard, int length) {
    if (shard.hasArray() && shard.arrayOffset() == 0 && shard.position() == 0
        && shard.array().length == length && shard.remaining() == length) {
      return shard.array();
    }
    byte[] a = new byte[length];
    shard.duplicate().get(a, 0, shard.remaining());
    return a;
  }

  /**
   * Parses the header of a stored parity block; throws {@link CorruptBlockException} naming
   * {@code what} if it is not one of a {@code k + m} stripe.
   */
  public static ParityBlock parse(ByteBuffer block, int k, int m, String what) {
    ByteBuffer b = block.duplicate();
    if (b.remaining() < headerBytes(k) || b.getInt() != MAGIC || b.get() != VERSION
        || b.get() != k || b.get() != m) {
      throw new CorruptBlockException("parity block " + what + " has no valid " + k + "+" + m
          + " stripe header");
    }
    int index = b.get() & 0xff;
    int present = b.getInt();
    int length = b.getInt();
    int[] lengths = new int[k];
    int[] crcs = new int[k];
    for (int i = 0; i < k; i++) {
      lengths[i] = b.getInt();
    }
    for (int i = 0; i < k; i++) {
      crcs[i] = b.getInt();
    }
    boolean ok = index < m && present != 0 && (k == 31 ? present > 0 : present >>> k == 0)
        && length > 0 && b.remaining() == length;
    for (int i = 0; ok && i < k; i++) {
      boolean has = (present >>> i & 1) != 0;
      ok = has ? lengths[i] > 0 && lengths[i] <= length : lengths[i] == 0 && crcs[i] == 0;
    }
    if (!ok) {
      throw new CorruptBlockException("parity block " + what + " has an inconsistent " + k
          + "+" + m + " stripe header");
    }
    return new ParityBlock(k, m, index, present, length, lengths, crcs);
  }

  /** The parity bytes of a parsed block (a view). */
  public ByteBuffer parity(ByteBuffer block) {
    return block.duplicate().position(block.position() + headerBytes(k)).slice();
  }

  /**
   * Rebuilds data shard {@code want} of this stripe from the shards read: {@code data} (k
   * entries, null where not read; absent positions need no entry) and {@code parity} (m
   * stored parity blocks, null where not read). Returns its bytes, checked against the CRC
   * the header records; throws {@link io.torus.BlockUnavailableException} if fewer than k
   * shards are known, {@link CorruptBlockException} if the rebuilt bytes do not match.
   */
  public ByteBuffer rebuild(ReedSolomon coder, int want, ByteBuffer[] data, ByteBuffer[] parity,
      String what) {
    if (!has(want)) {
      throw TorusException.invalid("data shard " + want + " is not part of stripe " + what);
    }
    byte[][] shards = new byte[k + m][];
    boolean[] known = new boolean[k + m];
    int count = 0;
    byte[] zeros = null;
    for (int i = 0; i < k; i++) {
      if (!has(i)) {
        zeros = zeros != null ? zeros : new byte[shardLength];
        shards[i] = zeros;
        known[i] = true;
      } else if (data[i] != null && i != want) {
        shards[i] = padded(data[i], shardLength);
        known[i] = true;
      } else {
        shards[i] = new byte[shardLength];
      }
      count += known[i] ? 1 : 0;
    }
    for (int j = 0; j < m; j++) {
      if (parity[j] != null) {
        ByteBuffer p = parity(parity[j]);
        shards[k + j] = padded(p, shardLength);
        known[k + j] = true;
        count++;
      } else {
        shards[k + j] = new byte[shardLength];
      }
    }
    if (count < k) {
      throw new io.torus.BlockUnavailableException("stripe " + what + ": " + count + " of "
          + (k + m) + " shards readable, " + k + " needed to rebuild data shard " + want);
    }
    coder.decode(shards, known, 0, shardLength);
    ByteBuffer out = ByteBuffer.wrap(shards[want], 0, lengths[want]).slice();
    if (Crc32c.of(out) != crcs[want]) {
      throw new CorruptBlockException("stripe " + what + ": data shard " + want
          + " rebuilt with a checksum other than its recorded one (a shard read is corrupt)");
    }
    return out;
  }
}
