package io.torus.spi;

import io.torus.TorusException;
import java.util.Objects;

/**
 * The name of one immutable stored block. A ref is never reused for different bytes:
 * generations are never handed out twice for a volume, and sequence numbers are unique
 * within a generation. Placement of a block is a pure function of its ref.
 *
 * <p>Binary form (24 bytes, big-endian; see {@code src-docs/formats.md}):
 * <pre>
 * +--------+------------+------------+----------+------+
 * | 0..7   | 8..15      | 16..19     | 20..22   | 23   |
 * | volume | generation | sequence   | reserved | kind |
 * +--------+------------+------------+----------+------+
 * </pre>
 *
 * @param volumeId the volume that wrote the block (clones keep pointing at their origin's)
 * @param generation the sync epoch the block was written in, {@code >= 1}
 * @param sequence the block's number within its generation, {@code >= 0}
 * @param kind what the block holds
 */
public record BlockRef(long volumeId, long generation, int sequence, BlockKind kind)
    implements Comparable<BlockRef> {

  /** Size of the binary form in bytes. */
  public static final int BYTES = 24;

  public BlockRef {
    if (volumeId < 0) {
      throw TorusException.invalid("volumeId < 0: " + volumeId);
    }
    if (generation < 1) {
      throw TorusException.invalid("generation < 1: " + generation);
    }
    if (sequence < 0) {
      throw TorusException.invalid("sequence < 0: " + sequence);
    }
    Objects.requireNonNull(kind, "kind");
  }

  @Override
  public int compareTo(BlockRef o) {
    int c = Long.compare(volumeId, o.volumeId);
    if (c == 0) {
      c = Long.compare(generation, o.generation);
    }
    if (c == 0) {
      c = Integer.compare(sequence, o.sequence);
    }
    return c != 0 ? c : Integer.compare(kind.id(), o.kind.id());
  }

  /** Writes the 24-byte binary form at the buffer's position, advancing it. */
  public void writeTo(java.nio.ByteBuffer out) {
    out.putLong(volumeId).putLong(generation).putInt(sequence)
        .put((byte) 0).put((byte) 0).put((byte) 0).put((byte) kind.id());
  }

  /** Reads the 24-byte binary form at the buffer's position, advancing it. */
  public static BlockRef readFrom(java.nio.ByteBuffer in) {
    long vol = in.getLong();
    long gen = in.getLong();
    int seq = in.getInt();
    int reserved = (in.get() & 0xff) | (in.get() & 0xff) | (in.get() & 0xff);
    int kind = in.get() & 0xff;
    if (reserved != 0) {
      throw TorusException.invalid("block ref has non-zero reserved bytes");
    }
    return new BlockRef(vol, gen, seq, BlockKind.ofId(kind));
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + volumeId + "/" + generation
        + "/" + sequence;
  }
}
