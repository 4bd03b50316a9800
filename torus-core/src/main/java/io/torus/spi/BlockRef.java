package io.torus.spi;

import io.torus.TorusException;
import java.util.Objects;

/**
 * The name of one immutable stored block. A ref is never reused for different bytes:
 * generations are never handed out twice for a volume, and sequence numbers are unique
 * within a generation. Placement of a block is a pure function of its ref.
 *
 * <p><b>Shards.</b> A ref with {@code dataShards > 0} names one shard of an erasure-coded
 * stripe of {@code dataShards + parityShards} shards: the stripe of a {@link BlockKind#DATA}
 * shard is the {@code dataShards} sequence numbers from {@code sequence - sequence %
 * dataShards} on, and its position in the stripe is {@code sequence % dataShards}; the parity
 * shards of stripe {@code s} are the {@link BlockKind#PARITY} refs of sequences
 * {@code s * parityShards} to {@code s * parityShards + parityShards - 1}, at positions
 * {@code dataShards} on. Every shard of a stripe lives on a peer of its own (see
 * {@code io.torus.internal.ring.StripePlacement}). A ref with both counts 0 names a
 * replicated block.
 *
 * <p>Binary form (24 bytes, big-endian; see {@code src-docs/formats.md}):
 * <pre>
 * +--------+------------+----------+------+------+----------+------+
 * | 0..7   | 8..15      | 16..19   | 20   | 21   | 22       | 23   |
 * | volume | generation | sequence | k    | m    | reserved | kind |
 * +--------+------------+----------+------+------+----------+------+
 * </pre>
 *
 * @param volumeId the volume that wrote the block (clones keep pointing at their origin's)
 * @param generation the sync epoch the block was written in, {@code >= 1}
 * @param sequence the block's number within its generation, {@code >= 0}
 * @param kind what the block holds
 * @param dataShards data shards of the block's stripe, 0 for a replicated block
 * @param parityShards parity shards of the block's stripe, 0 for a replicated block
 */
public record BlockRef(long volumeId, long generation, int sequence, BlockKind kind,
    int dataShards, int parityShards) implements Comparable<BlockRef> {

  /** Size of the binary form in bytes. */
  public static final int BYTES = 24;
  /** The largest shard count of either kind that a ref records. */
  public static final int MAX_SHARDS = 127;

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
    if (dataShards == 0 ? parityShards != 0
        : dataShards < 0 || dataShards > MAX_SHARDS || parityShards < 1
            || parityShards > MAX_SHARDS || kind == BlockKind.MAP) {
      throw TorusException.invalid("bad stripe layout " + dataShards + "+" + parityShards
          + " for a " + kind + " ref");
    }
  }

  /** A ref of a replicated block. */
  public BlockRef(long volumeId, long generation, int sequence, BlockKind kind) {
    this(volumeId, generation, sequence, kind, 0, 0);
  }

  /** Whether this ref names a shard of an erasure-coded stripe. */
  public boolean striped() {
    return dataShards != 0;
  }

  /** The shard's position in its stripe: data shards first, then parity (striped refs). */
  public int shardIndex() {
    return kind == BlockKind.PARITY ? dataShards + sequence % parityShards
        : sequence % dataShards;
  }

  /** The sequence number of the first data shard of this shard's stripe (striped refs). */
  public int stripeStart() {
    return kind == BlockKind.PARITY ? sequence / parityShards * dataShards
        : sequence - sequence % dataShards;
  }

  /**
   * The shard at {@code index} of this shard's stripe (0 to k-1: data, k to k+m-1: parity).
   */
  public BlockRef shard(int index) {
    int start = stripeStart();
    if (index < 0 || index >= dataShards + parityShards) {
      throw TorusException.invalid("shard index " + index + " outside stripe "
          + dataShards + "+" + parityShards);
    }
    return index < dataShards
        ? new BlockRef(volumeId, generation, start + index, BlockKind.DATA, dataShards,
            parityShards)
        : new BlockRef(volumeId, generation, start / dataShards * parityShards
            + index - dataShards, BlockKind.PARITY, dataShards, parityShards);
  }

  /**
   * The name of this shard's stripe: the replicated-form ref of its first data shard. Shards
   * of one stripe share it; placement and liveness go by it.
   */
  public BlockRef stripe() {
    return new BlockRef(volumeId, generation, stripeStart(), BlockKind.DATA);
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
    if (c == 0) {
      c = Integer.compare(kind.id(), o.kind.id());
    }
    if (c == 0) {
      c = Integer.compare(dataShards, o.dataShards);
    }
    return c != 0 ? c : Integer.compare(parityShards, o.parityShards);
  }

  /** Writes the 24-byte binary form at the buffer's position, advancing it. */
  public void writeTo(java.nio.ByteBuffer out) {
    out.putLong(volumeId).putLong(generation).putInt(sequence)
        .put((byte) dataShards).put((byte) parityShards).put((byte) 0).put((byte) kind.id());
  }

  /** Reads the 24-byte binary form at the buffer's position, advancing it. */
  public static BlockRef readFrom(java.nio.ByteBuffer in) {
    long vol = in.getLong();
    long gen = in.getLong();
    int seq = in.getInt();
    int k = in.get() & 0xff;
    int m = in.get() & 0xff;
    int reserved = in.get() & 0xff;
    int kind = in.get() & 0xff;
    if (reserved != 0) {
      throw TorusException.invalid("block ref has a non-zero reserved byte");
    }
    return new BlockRef(vol, gen, seq, BlockKind.ofId(kind), k, m);
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + volumeId + "/" + generation
        + "/" + sequence + (striped() ? "@" + dataShards + "+" + parityShards : "");
  }
}
