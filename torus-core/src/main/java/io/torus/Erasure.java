package io.torus;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The erasure-coding policy of a volume: each stripe of {@code dataShards} (k) data blocks is
 * stored with {@code parityShards} (m) parity blocks, every one on a different peer; any k of
 * the k+m rebuild the stripe, so a volume survives m peers lost at a cost of (k+m)/k times its
 * data in space, where replication with the same tolerance costs m+1 times. The volume's map
 * nodes and head are small and stay replicated, with {@link #mapCopies()} = m+1 copies: the
 * same failure tolerance. Validated on construction: a policy that exists is a valid one.
 * Immutable; written {@code k+m} ({@link #toString}, {@link #parse}).
 *
 * @param dataShards k, data blocks per stripe, 1 to {@link #MAX_DATA_SHARDS}
 * @param parityShards m, parity blocks per stripe (peers that may be lost), 1 to
 *     {@link #MAX_PARITY_SHARDS}
 */
public record Erasure(int dataShards, int parityShards) {

  /** The most data shards in a stripe. */
  public static final int MAX_DATA_SHARDS = 16;
  /** The most parity shards in a stripe. */
  public static final int MAX_PARITY_SHARDS = 8;

  private static final Pattern TEXT = Pattern.compile("(\\d{1,9})\\+(\\d{1,9})");

  public Erasure {
    if (dataShards < 1 || dataShards > MAX_DATA_SHARDS) {
      throw TorusException.invalid("erasure coding takes 1 to " + MAX_DATA_SHARDS
          + " data shards: " + dataShards);
    }
    if (parityShards < 1 || parityShards > MAX_PARITY_SHARDS) {
      throw TorusException.invalid("erasure coding takes 1 to " + MAX_PARITY_SHARDS
          + " parity shards: " + parityShards);
    }
  }

  /**
   * The policy written {@code K+M}, e.g. {@code "4+2"} (no spaces, decimal); throws
   * {@link TorusException} (EINVAL) for anything else or for values out of range.
   */
  public static Erasure parse(String text) {
    Matcher m = text == null ? null : TEXT.matcher(text);
    if (m == null || !m.matches()) {
      throw TorusException.invalid("an erasure policy is written DATA+PARITY, e.g. 4+2 (data"
          + " shards 1-" + MAX_DATA_SHARDS + ", parity shards 1-" + MAX_PARITY_SHARDS + "): "
          + (text == null ? "null" : "'" + text + "'"));
    }
    return new Erasure(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
  }

  /** k+m: the blocks of a stripe, and the fewest peers that can hold one. */
  public int totalShards() {
    return dataShards + parityShards;
  }

  /** The space the volume takes per byte of data: (k+m)/k, e.g. 1.5 for 4+2. */
  public double overhead() {
    return (double) totalShards() / dataShards;
  }

  /**
   * Copies of each map node and of the head: m+1, so that they survive as many lost peers as
   * the data does. An erasure-coded volume's {@link VolumeSpec#replication()} is at least
   * this.
   */
  public int mapCopies() {
    return parityShards + 1;
  }

  /** {@code K+M}, e.g. {@code "4+2"}; {@link #parse} reads it back. */
  @Override
  public String toString() {
    return dataShards + "+" + parityShards;
  }
}
