package io.torus.internal.map;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One node of a volume's block map: a sparse, sorted array of (slot, ref) entries. Leaves
 * (level 0) point at data blocks; inner nodes point at child map nodes. Immutable.
 *
 * <p>Binary form (big-endian), stored as a block of kind {@link BlockKind#MAP}:
 * <pre>
 * offset  size  field
 * 0       4     magic 0x544D4150 ("TMAP")
 * 4       1     format version (1)
 * 5       1     level (0 = leaf)
 * 6       1     fan-out bits (10: 1024 slots per node)
 * 7       1     reserved, 0
 * 8       4     entry count n (0..1024)
 * 12      28*n  entries, slots strictly increasing:
 *                 4   slot (0..1023)
 *                 24  BlockRef (see BlockRef)
 * </pre>
 *
 * <p>A map node of an encrypted volume is stored sealed ({@code "TMAE"}: the refs in the
 * clear, sorted, the slots encrypted; see {@code io.torus.internal.crypto.SealedNodes} and
 * {@code src-docs/formats.md}). {@link #decode} reads that form without the key as an
 * <em>opaque</em> node: its level and refs (all garbage collection needs), no slots.
 */
public final class MapNode {
  public static final int MAGIC = 0x544D4150;
  /** Magic of the sealed form, "TMAE". */
  public static final int SEALED_MAGIC = 0x544D4145;
  public static final int VERSION = 1;
  public static final int FANOUT_BITS = 10;
  public static final int FANOUT = 1 << FANOUT_BITS;
  public static final int HEADER_BYTES = 12;
  public static final int ENTRY_BYTES = 4 + BlockRef.BYTES;
  /** Largest encoded node. */
  public static final int MAX_BYTES = HEADER_BYTES + FANOUT * ENTRY_BYTES;

  static final MapNode EMPTY_LEAF = new MapNode(0, new int[0], new BlockRef[0]);

  private final int level;
  private final int[] slots;
  private final BlockRef[] refs;

  MapNode(int level, int[] slots, BlockRef[] refs) {
    this.level = level;
    this.slots = slots;
    this.refs = refs;
  }

  /**
   * A node from its entries ({@code slots} strictly increasing, below {@link #FANOUT}; data
   * refs at level 0, map refs above); throws {@link CorruptBlockException} naming
   * {@code ref} if they are not well formed. The arrays are copied.
   */
  public static MapNode of(BlockRef ref, int level, int[] slots, BlockRef[] refs) {
    if (level < 0 || level > 6 || slots.length != refs.length || slots.length > FANOUT) {
      throw new CorruptBlockException("map node " + ref + ": bad shape (level " + level
          + ", " + slots.length + " slots, " + refs.length + " refs)");
    }
    BlockKind want = level == 0 ? BlockKind.DATA : BlockKind.MAP;
    for (int i = 0; i < slots.length; i++) {
      boolean ordered = i == 0 ? slots[i] >= 0 : slots[i] > slots[i - 1];
      if (!ordered || slots[i] >= FANOUT || refs[i].kind() != want) {
        throw new CorruptBlockException("map node " + ref + ": bad entry " + i);
      }
    }
    return new MapNode(level, slots.clone(), refs.clone());
  }

  /** Whether this node was read sealed without its key: it has refs but no slots. */
  public boolean opaque() {
    return slots == null;
  }

  private int[] slots() {
    if (slots == null) {
      throw new IllegalStateException("a sealed map node read without its volume's key has"
          + " no slots");
    }
    return slots;
  }

  /** An empty node of {@code level}. */
  public static MapNode empty(int level) {
    return level == 0 ? EMPTY_LEAF : new MapNode(level, new int[0], new BlockRef[0]);
  }

  public int level() {
    return level;
  }

  /** Number of non-hole entries. */
  public int size() {
    return refs.length;
  }

  public int slotAt(int i) {
    return slots()[i];
  }

  public BlockRef refAt(int i) {
    return refs[i];
  }

  /** The ref at {@code slot}, or null for a hole. */
  public BlockRef get(int slot) {
    int i = Arrays.binarySearch(slots(), slot);
    return i >= 0 ? refs[i] : null;
  }

  /** Index of the first entry whose slot is {@code >= slot}. */
  public int ceilingIndex(int slot) {
    int i = Arrays.binarySearch(slots(), slot);
    return i >= 0 ? i : -i - 1;
  }

  /** Bytes of the encoded form. */
  public int encodedSize() {
    return HEADER_BYTES + refs.length * ENTRY_BYTES;
  }

  /** Encodes the node into a new heap buffer (position 0, limit = size). */
  public ByteBuffer encode() {
    int[] slots = slots();
    ByteBuffer b = ByteBuffer.allocate(encodedSize());
    b.putInt(MAGIC).put((byte) VERSION).put((byte) level).put((byte) FANOUT_BITS).put((byte) 0);
    b.putInt(slots.length);
    for (int i = 0; i < slots.length; i++) {
      b.putInt(slots[i]);
      refs[i].writeTo(b);
    }
    return b.flip();
  }

  /**
   * Decodes a node (a sealed one as an {@linkplain #opaque opaque} node); throws
   * {@link CorruptBlockException} naming {@code ref} if the bytes are not a well-formed map
   * node.
   */
  public static MapNode decode(BlockRef ref, ByteBuffer in) {
    ByteBuffer b = in.duplicate();
    boolean sealed = b.remaining() >= 4 && b.getInt(b.position()) == SEALED_MAGIC;
    String what = (sealed ? "sealed map node " : "map node ") + ref;
    try {
      if (b.remaining() < HEADER_BYTES || b.getInt() != (sealed ? SEALED_MAGIC : MAGIC)) {
        throw new CorruptBlockException(what + ": bad magic");
      }
      int version = b.get() & 0xff;
      int level = b.get() & 0xff;
      int bits = b.get() & 0xff;
      b.get();
      int n = b.getInt();
      // sealed: refs, then the slots sealed with their tag (see the class doc)
      long body = sealed ? (long) n * (BlockRef.BYTES + 4) + 16 : (long) n * ENTRY_BYTES;
      if (version != VERSION || bits != FANOUT_BITS || level > 6 || n < 0 || n > FANOUT
          || b.remaining() != body) {
        throw new CorruptBlockException(what + ": bad header (version " + version
            + ", level " + level + ", fan-out bits " + bits + ", entries " + n + ")");
      }
      BlockKind want = level == 0 ? BlockKind.DATA : BlockKind.MAP;
      int[] slots = sealed ? null : new int[n];
      BlockRef[] refs = new BlockRef[n];
      for (int i = 0; i < n; i++) {
        if (!sealed) {
          slots[i] = b.getInt();
        }
        refs[i] = BlockRef.readFrom(b);
        boolean ordered = sealed ? i == 0 || refs[i].compareTo(refs[i - 1]) >= 0
            : i == 0 ? slots[i] >= 0 : slots[i] > slots[i - 1];
        if (!ordered || (!sealed && slots[i] >= FANOUT) || refs[i].kind() != want) {
          throw new CorruptBlockException(what + ": bad entry " + i);
        }
      }
      return new MapNode(level, slots, refs);
    } catch (RuntimeException e) {
      if (e instanceof CorruptBlockException) {
        throw e;
      }
      throw new CorruptBlockException(what + ": " + e.getMessage(), e);
    }
  }

  /** Builds nodes from sorted entries. Not thread-safe. */
  static final class Builder {
    private final int level;
    private int[] slots = new int[16];
    private BlockRef[] refs = new BlockRef[16];
    private int n;

    Builder(int level) {
      this.level = level;
    }

    /** Appends an entry; slots must be added in increasing order. */
    void add(int slot, BlockRef ref) {
      if (n == slots.length) {
        slots = Arrays.copyOf(slots, n * 2);
        refs = Arrays.copyOf(refs, n * 2);
      }
      slots[n] = slot;
      refs[n] = ref;
      n++;
    }

    boolean isEmpty() {
      return n == 0;
    }

    MapNode build() {
      return new MapNode(level, Arrays.copyOf(slots, n), Arrays.copyOf(refs, n));
    }
  }
}
