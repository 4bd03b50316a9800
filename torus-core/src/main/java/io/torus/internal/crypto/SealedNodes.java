package io.torus.internal.crypto;

import io.torus.CorruptBlockException;
import io.torus.internal.map.MapNode;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The sealed form of a map node of an encrypted volume: the refs it points to in the clear
 * (sorted, so that peers collecting garbage can follow them without the key; peers see those
 * refs as block names anyway), the slot of each ref encrypted (which offset holds which block
 * stays secret).
 *
 * <pre>
 * offset        size      field
 * 0             4         magic 0x544D4145 ("TMAE")
 * 4             1         format version (1)
 * 5             1         level (0 = leaf)
 * 6             1         fan-out bits (10)
 * 7             1         reserved, 0
 * 8             4         entry count n (0..1024)
 * 12            24*n      refs, sorted by (volume, generation, sequence, kind)
 * 12+24n        4*n       the slot of each ref, in the order of the refs, encrypted
 * 12+28n        16        tag
 * </pre>
 *
 * The slots are sealed by {@link BlockCipher} under the node's ref with bytes 0 to 12+24n
 * as further associated data, so the clear part cannot be changed either.
 */
final class SealedNodes {
  private static final int HEADER = 12;

  private SealedNodes() {}

  /** The sealed form of the plain node {@code plain} stored as {@code ref}. */
  static ByteBuffer seal(BlockCipher cipher, BlockRef ref, ByteBuffer plain) {
    MapNode node = MapNode.decode(ref, plain);
    int n = node.size();
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparing(node::refAt));
    ByteBuffer out = ByteBuffer.allocate(HEADER + n * (BlockRef.BYTES + 4)
        + BlockCipher.TAG_BYTES);
    out.putInt(MapNode.SEALED_MAGIC).put((byte) MapNode.VERSION).put((byte) node.level())
        .put((byte) MapNode.FANOUT_BITS).put((byte) 0).putInt(n);
    ByteBuffer slots = ByteBuffer.allocate(4 * n);
    for (int i : order) {
      node.refAt(i).writeTo(out);
      slots.putInt(node.slotAt(i));
    }
    byte[] clear = Arrays.copyOf(out.array(), out.position());
    cipher.seal(ref, slots.flip(), clear, out);
    return out.flip();
  }

  /** The plain form ({@link MapNode#encode}) of the sealed node {@code sealed}. */
  static ByteBuffer open(BlockCipher cipher, BlockRef ref, ByteBuffer sealed) {
    MapNode clear = MapNode.decode(ref, sealed); // checks the header and the clear refs
    if (!clear.opaque()) {
      throw new CorruptBlockException("map node " + ref + " of an encrypted volume is not"
          + " sealed");
    }
    int n = clear.size();
    int clearBytes = HEADER + n * BlockRef.BYTES;
    byte[] aad = new byte[clearBytes];
    sealed.duplicate().get(aad);
    ByteBuffer body = sealed.duplicate();
    body.position(body.position() + clearBytes);
    ByteBuffer slots = cipher.open(ref, body, aad);
    long[] bySlot = new long[n];
    for (int i = 0; i < n; i++) {
      bySlot[i] = ((long) slots.getInt() << 32) | i;
    }
    Arrays.sort(bySlot);
    int[] s = new int[n];
    BlockRef[] r = new BlockRef[n];
    for (int i = 0; i < n; i++) {
      s[i] = (int) (bySlot[i] >> 32);
      r[i] = clear.refAt((int) bySlot[i]);
    }
    return MapNode.of(ref, clear.level(), s, r).encode();
  }
}
