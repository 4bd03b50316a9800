package io.torus.internal.volume;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.Crc32c;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * One flush-journal entry: the block-map changes of one flush, committed in the flush's
 * generation. Peers store it as opaque bytes; only writers encode and decode it.
 *
 * <p>Binary form (big-endian; see {@code src-docs/formats.md}, "Flush journal entry"):
 * <pre>
 * offset  size    field
 * 0       4       magic 0x544A454E ("TJEN")
 * 4       1       format version (1)
 * 5       3       reserved, 0
 * 8       8       volume id
 * 16      8       generation
 * 24      4       change count n
 * 28      32*n    changes, block indexes strictly increasing:
 *                   8   block index
 *                   24  BlockRef of the block's new content, or 24 zero bytes for a hole
 * 28+32n  4       CRC32C of every byte before it
 * </pre>
 *
 * @param volumeId the volume
 * @param generation the flush's generation (its blocks' generation)
 * @param changes block index to its new ref, null for a hole
 */
record JournalEntry(long volumeId, long generation, NavigableMap<Long, BlockRef> changes) {
  static final int MAGIC = 0x544A454E;
  static final int VERSION = 1;
  static final int HEADER_BYTES = 28;
  static final int CHANGE_BYTES = 8 + BlockRef.BYTES;

  /** Encoded size of an entry with {@code n} changes. */
  static int bytes(int n) {
    return HEADER_BYTES + n * CHANGE_BYTES + 4;
  }

  byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(bytes(changes.size()));
    b.putInt(MAGIC).put((byte) VERSION).put((byte) 0).putShort((short) 0)
        .putLong(volumeId).putLong(generation).putInt(changes.size());
    for (Map.Entry<Long, BlockRef> c : changes.entrySet()) {
      b.putLong(c.getKey());
      if (c.getValue() == null) {
        b.put(new byte[BlockRef.BYTES]);
      } else {
        c.getValue().writeTo(b);
      }
    }
    b.putInt(Crc32c.of(b.array(), 0, b.position()));
    return b.array();
  }

  /**
   * Decodes an entry of {@code volumeId}; throws EIO naming {@code source} if the bytes are
   * not a whole, intact entry of that volume.
   */
  static JournalEntry decode(byte[] bytes, long volumeId, String source) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      if (bytes.length < bytes(0) || b.getInt() != MAGIC) {
        throw corrupt(source, "not a flush journal entry");
      }
      if (Crc32c.of(bytes, 0, bytes.length - 4) != b.getInt(bytes.length - 4)) {
        throw corrupt(source, "checksum mismatch");
      }
      int version = b.get() & 0xff;
      if (version != VERSION || b.get() != 0 || b.getShort() != 0) {
        throw corrupt(source, "unknown format version " + version);
      }
      long vol = b.getLong();
      long gen = b.getLong();
      int n = b.getInt();
      if (vol != volumeId || n < 0 || bytes.length != bytes(n)) {
        throw corrupt(source, "entry of volume " + vol + " with " + n + " changes in "
            + bytes.length + " bytes");
      }
      TreeMap<Long, BlockRef> changes = new TreeMap<>();
      long last = -1;
      for (int i = 0; i < n; i++) {
        long index = b.getLong();
        if (index <= last) {
          throw corrupt(source, "block indexes out of order");
        }
        last = index;
        boolean hole = true;
        for (int k = 0; k < BlockRef.BYTES; k++) {
          hole &= bytes[b.position() + k] == 0;
        }
        if (hole) {
          b.position(b.position() + BlockRef.BYTES);
          changes.put(index, null);
        } else {
          changes.put(index, BlockRef.readFrom(b));
        }
      }
      return new JournalEntry(vol, gen, changes);
    } catch (TorusException e) {
      throw e.code() == ErrorCode.EIO ? e : corrupt(source, e.getMessage());
    }
  }

  private static TorusException corrupt(String source, String why) {
    return new TorusException(ErrorCode.EIO, "corrupt flush journal entry from " + source
        + ": " + why);
  }
}
