package io.torus.internal.map;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One node of a volume's block map: a sorted array of (key, ref) entries. Leaves (level 0)
 * point at data blocks; inner nodes point at child map nodes. Immutable. Two formats exist
 * (see {@code src-docs/formats.md}); {@link BlockMap} picks the tree algorithm by the root's:
 *
 * <p><b>Version 1</b>, the radix tree ({@link RadixTree}): a key is a slot 0..1023 of the
 * node's range. Big-endian:
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
 * <p><b>Version 2</b>, the B+-tree ({@link SortedTree}): a key is an absolute block index (in
 * a leaf, the block's; in an inner node, the lowest index its child may hold), entries packed
 * as varints:
 * <pre>
 * offset  size  field
 * 0       4     magic 0x544D4150 ("TMAP")
 * 4       1     format version (2)
 * 5       1     level (0 = leaf)
 * 6       2     reserved, 0
 * 8       4     entry count n (0..{@value #CAPACITY})
 * 12      ...   n entries, keys strictly increasing, each coded against the entry before
 *               it (the first against key -1 and ref 0/0/0, layout 0+0):
 *                 uvarint  key - previous key - 1
 *                 1        flags: 1 volume differs, 2 generation differs, 4 layout differs,
 *                          bits 3-4 the ref's kind (0 data in leaves, 1 map above)
 *                 uvarint  volume id         (flag 1)
 *                 uvarint  generation        (flag 2)
 *                 2        k, m              (flag 4)
 *                 svarint  sequence - previous sequence (zigzag)
 * </pre>
 * (uvarint/svarint: protobuf's base-128 varint and its zigzag form.)
 *
 * <p>A map node of an encrypted volume is stored sealed ({@code "TMAE"}: the refs in the
 * clear, sorted, the keys encrypted; see {@code io.torus.internal.crypto.SealedNodes} and
 * {@code src-docs/formats.md}). {@link #decode} reads that form without the key as an
 * <em>opaque</em> node: its level and refs (all garbage collection needs), no keys.
 */
public final class MapNode {
  public static final int MAGIC = 0x544D4150;
  /** Magic of the sealed form, "TMAE". */
  public static final int SEALED_MAGIC = 0x544D4145;
  /** The radix-tree format. */
  public static final int RADIX = 1;
  /** The B+-tree format, written for every new tree. */
  public static final int SORTED = 2;
  public static final int FANOUT_BITS = 10;
  /** Slots of a version 1 node. */
  public static final int FANOUT = 1 << FANOUT_BITS;
  /** Most entries of a version 2 node. */
  public static final int CAPACITY = 4096;
  /** Highest level of a version 2 tree a decoder accepts. */
  static final int MAX_SORTED_LEVEL = 15;
  public static final int HEADER_BYTES = 12;
  /** Most bytes of a version 2 entry: key, flags, volume, generation, layout, sequence. */
  public static final int MAX_ENTRY_BYTES = 10 + 1 + 10 + 10 + 2 + 10;
  /** Bytes of a version 1 entry. */
  public static final int ENTRY_BYTES = 4 + BlockRef.BYTES;

  private final int version;
  private final int level;
  private final long[] keys; // null: read sealed without the key
  private final BlockRef[] refs;

  MapNode(int version, int level, long[] keys, BlockRef[] refs) {
    this.version = version;
    this.level = level;
    this.keys = keys;
    this.refs = refs;
  }

  /**
   * A node of {@code version} from its entries ({@code keys} strictly increasing, for version
   * 1 below {@link #FANOUT}; data refs at level 0, map refs above); throws
   * {@link CorruptBlockException} naming {@code ref} if they are not well formed. The arrays
   * are copied.
   */
  public static MapNode of(BlockRef ref, int version, int level, long[] keys,
      BlockRef[] refs) {
    int maxLevel = version == RADIX ? 6 : MAX_SORTED_LEVEL;
    int max = version == RADIX ? FANOUT : CAPACITY;
    if ((version != RADIX && version != SORTED) || level < 0 || level > maxLevel
        || keys.length != refs.length || keys.length > max) {
      throw new CorruptBlockException("map node " + ref + ": bad shape (version " + version
          + ", level " + level + ", " + keys.length + " keys, " + refs.length + " refs)");
    }
    BlockKind want = level == 0 ? BlockKind.DATA : BlockKind.MAP;
    for (int i = 0; i < keys.length; i++) {
      boolean ordered = i == 0 ? keys[i] >= 0 : keys[i] > keys[i - 1];
      if (!ordered || (version == RADIX && keys[i] >= FANOUT) || refs[i].kind() != want) {
        throw new CorruptBlockException("map node " + ref + ": bad entry " + i);
      }
    }
    return new MapNode(version, level, keys.clone(), refs.clone());
  }

  /** Whether this node was read sealed without its key: it has refs but no keys. */
  public boolean opaque() {
    return keys == null;
  }

  private long[] keys() {
    if (keys == null) {
      throw new IllegalStateException("a sealed map node read without its volume's key has"
          + " no keys");
    }
    return keys;
  }

  /** An empty node. */
  static MapNode empty(int version, int level) {
    return new MapNode(version, level, new long[0], new BlockRef[0]);
  }

  /** {@link #RADIX} or {@link #SORTED}. */
  public int version() {
    return version;
  }

  public int level() {
    return level;
  }

  /** Number of entries. */
  public int size() {
    return refs.length;
  }

  /** The key of entry {@code i}: a slot (version 1) or a block index (version 2). */
  public long keyAt(int i) {
    return keys()[i];
  }

  public BlockRef refAt(int i) {
    return refs[i];
  }

  /** The ref under {@code key}, or null. */
  public BlockRef get(long key) {
    int i = Arrays.binarySearch(keys(), key);
    return i >= 0 ? refs[i] : null;
  }

  /** Index of the first entry whose key is {@code >= key}. */
  public int ceilingIndex(long key) {
    int i = Arrays.binarySearch(keys(), key);
    return i >= 0 ? i : -i - 1;
  }

  /** Index of the last entry whose key is {@code <= key}, or -1. */
  public int floorIndex(long key) {
    int i = Arrays.binarySearch(keys(), key);
    return i >= 0 ? i : -i - 2;
  }

  /** Heap bytes this node takes decoded, about (what a cache should weigh it by). */
  public int weight() {
    return 32 + refs.length * 64;
  }

  /** Encodes the node into a new heap buffer (position 0, limit = size). */
  public ByteBuffer encode() {
    long[] k = keys();
    if (version == RADIX) {
      ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + refs.length * ENTRY_BYTES);
      b.putInt(MAGIC).put((byte) RADIX).put((byte) level).put((byte) FANOUT_BITS)
          .put((byte) 0).putInt(k.length);
      for (int i = 0; i < k.length; i++) {
        b.putInt((int) k[i]);
        refs[i].writeTo(b);
      }
      return b.flip();
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + refs.length * MAX_ENTRY_BYTES);
    b.putInt(MAGIC).put((byte) SORTED).put((byte) level).putShort((short) 0).putInt(k.length);
    long prevKey = -1;
    BlockRef prev = null;
    for (int i = 0; i < k.length; i++) {
      Varints.putUnsigned(b, k[i] - prevKey - 1);
      writeRef(b, prev, refs[i]);
      prevKey = k[i];
      prev = refs[i];
    }
    return ByteBuffer.wrap(Arrays.copyOf(b.array(), b.position()));
  }

  /**
   * Writes {@code ref} packed against {@code prev} (null: the first entry), as version 2
   * nodes store refs, plain and sealed.
   */
  public static void writeRef(ByteBuffer out, BlockRef prev, BlockRef ref) {
    long pv = prev == null ? 0 : prev.volumeId();
    long pg = prev == null ? 0 : prev.generation();
    int ps = prev == null ? 0 : prev.sequence();
    int pk = prev == null ? 0 : prev.dataShards();
    int pm = prev == null ? 0 : prev.parityShards();
    int flags = (ref.volumeId() != pv ? 1 : 0) | (ref.generation() != pg ? 2 : 0)
        | (ref.dataShards() != pk || ref.parityShards() != pm ? 4 : 0) | ref.kind().id() << 3;
    out.put((byte) flags);
    if ((flags & 1) != 0) {
      Varints.putUnsigned(out, ref.volumeId());
    }
    if ((flags & 2) != 0) {
      Varints.putUnsigned(out, ref.generation());
    }
    if ((flags & 4) != 0) {
      out.put((byte) ref.dataShards()).put((byte) ref.parityShards());
    }
    Varints.putSigned(out, (long) ref.sequence() - ps);
  }

  /**
   * Reads a ref written by {@link #writeRef}, which must be of {@code kind}; throws
   * {@link CorruptBlockException} (naming {@code what}) when it is not well formed.
   */
  public static BlockRef readRef(ByteBuffer in, BlockRef prev, BlockKind kind, String what) {
    if (!in.hasRemaining()) {
      throw new CorruptBlockException(what + ": truncated");
    }
    int flags = in.get() & 0xff;
    if ((flags & ~0x1f) != 0 || flags >>> 3 != kind.id()) {
      throw new CorruptBlockException(what + ": bad ref flags " + flags + " (a " + kind
          + " ref expected)");
    }
    long vol = (flags & 1) != 0 ? Varints.getUnsigned(in, what)
        : prev == null ? 0 : prev.volumeId();
    long gen = (flags & 2) != 0 ? Varints.getUnsigned(in, what)
        : prev == null ? 0 : prev.generation();
    int k = prev == null ? 0 : prev.dataShards();
    int m = prev == null ? 0 : prev.parityShards();
    if ((flags & 4) != 0) {
      if (in.remaining() < 2) {
        throw new CorruptBlockException(what + ": truncated");
      }
      k = in.get() & 0xff;
      m = in.get() & 0xff;
    }
    long seq = (prev == null ? 0 : prev.sequence()) + Varints.getSigned(in, what);
    if (seq < 0 || seq > Integer.MAX_VALUE) {
      throw new CorruptBlockException(what + ": sequence out of range: " + seq);
    }
    return new BlockRef(vol, gen, (int) seq, kind, k, m);
  }

  /**
   * Decodes a node (a sealed one as an {@linkplain #opaque opaque} node); throws
   * {@link CorruptBlockException} naming {@code ref} if the bytes are not a well-formed map
   * node.
   */
  public static MapNode decode(BlockRef ref, ByteBuffer in) {
    return decode(ref, in, null);
  }

  /**
   * Like {@link #decode(BlockRef, ByteBuffer)}; for a sealed version 2 node also stores in
   * {@code clearEnd[0]} the offset (from the buffer's position) where its sealed part begins.
   */
  public static MapNode decode(BlockRef ref, ByteBuffer in, int[] clearEnd) {
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
      int reserved = b.get() & 0xff;
      int n = b.getInt();
      MapNode node = version == RADIX && bits == FANOUT_BITS && reserved == 0 && level <= 6
          && n >= 0 && n <= FANOUT ? decodeRadix(what, b, sealed, level, n)
          : version == SORTED && bits == 0 && reserved == 0 && level <= MAX_SORTED_LEVEL
          && n >= 0 && n <= CAPACITY ? decodeSorted(what, b, sealed, level, n, clearEnd)
          : null;
      if (node == null) {
        throw new CorruptBlockException(what + ": bad header (version " + version
            + ", level " + level + ", " + bits + "/" + reserved + ", entries " + n + ")");
      }
      return node;
    } catch (RuntimeException e) {
      if (e instanceof CorruptBlockException) {
        throw e;
      }
      throw new CorruptBlockException(what + ": " + e.getMessage(), e);
    }
  }

  private static MapNode decodeRadix(String what, ByteBuffer b, boolean sealed, int level,
      int n) {
    // sealed: refs, then the slots sealed with their tag (see the class doc)
    long body = sealed ? (long) n * (BlockRef.BYTES + 4) + 16 : (long) n * ENTRY_BYTES;
    if (b.remaining() != body) {
      throw new CorruptBlockException(what + ": " + b.remaining() + " bytes after the header"
          + " for " + n + " entries");
    }
    BlockKind want = level == 0 ? BlockKind.DATA : BlockKind.MAP;
    long[] slots = sealed ? null : new long[n];
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
    return new MapNode(RADIX, level, slots, refs);
  }

  private static MapNode decodeSorted(String what, ByteBuffer b, boolean sealed, int level,
      int n, int[] clearEnd) {
    BlockKind want = level == 0 ? BlockKind.DATA : BlockKind.MAP;
    int start = b.position();
    long[] keys = sealed ? null : new long[n];
    BlockRef[] refs = new BlockRef[n];
    long key = -1;
    BlockRef prev = null;
    for (int i = 0; i < n; i++) {
      if (!sealed) {
        long delta = Varints.getUnsigned(b, what);
        if (delta < 0 || key + 1 + delta < 0) {
          throw new CorruptBlockException(what + ": key of entry " + i + " out of range");
        }
        key += 1 + delta;
        keys[i] = key;
      }
      refs[i] = readRef(b, prev, want, what);
      if (sealed && prev != null && refs[i].compareTo(prev) < 0) {
        throw new CorruptBlockException(what + ": refs out of order at entry " + i);
      }
      prev = refs[i];
    }
    if (sealed ? b.remaining() != n * 8L + 16 : b.hasRemaining()) {
      throw new CorruptBlockException(what + ": " + b.remaining() + " bytes after " + n
          + " entries");
    }
    if (clearEnd != null) {
      clearEnd[0] = HEADER_BYTES + b.position() - start;
    }
    return new MapNode(SORTED, level, keys, refs);
  }

  /** Builds nodes from sorted entries. Not thread-safe. */
  static final class Builder {
    private final int version;
    private final int level;
    private long[] keys = new long[16];
    private BlockRef[] refs = new BlockRef[16];
    private int n;

    Builder(int version, int level) {
      this.version = version;
      this.level = level;
    }

    /** Appends an entry; keys must be added in increasing order. */
    void add(long key, BlockRef ref) {
      if (n == keys.length) {
        keys = Arrays.copyOf(keys, n * 2);
        refs = Arrays.copyOf(refs, n * 2);
      }
      keys[n] = key;
      refs[n] = ref;
      n++;
    }

    int size() {
      return n;
    }

    boolean isEmpty() {
      return n == 0;
    }

    MapNode build() {
      return new MapNode(version, level, Arrays.copyOf(keys, n), Arrays.copyOf(refs, n));
    }

    /** A node of entries {@code [from, to)} of those added. */
    MapNode build(int from, int to) {
      return new MapNode(version, level, Arrays.copyOfRange(keys, from, to),
          Arrays.copyOfRange(refs, from, to));
    }

    long keyAt(int i) {
      return keys[i];
    }
  }
}
