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
 * refs as block names anyway), the key of each ref encrypted (which offset holds which block
 * stays secret). One form per node format:
 *
 * <pre>
 * version 1 (radix nodes)                  version 2 (B+-tree nodes)
 * offset   size  field                     offset  size  field
 * 0        4     magic "TMAE"              0       4     magic "TMAE"
 * 4        1     format version (1)        4       1     format version (2)
 * 5        1     level (0 = leaf)          5       1     level (0 = leaf)
 * 6        1     fan-out bits (10)         6       2     reserved, 0
 * 7        1     reserved, 0
 * 8        4     entry count n (0..1024)   8       4     entry count n (0..4096)
 * 12       24*n  refs, sorted              12      c     refs, sorted, each packed against
 * 12+24n   4*n   each ref's slot, sealed                 the one before (as in TMAP v2)
 * 12+28n   16    tag                       12+c    8*n   each ref's block index, sealed
 *                                          12+c+8n 16    tag
 * </pre>
 *
 * The keys are sealed by {@link BlockCipher} under the node's ref with the clear part (the
 * header and the refs) as further associated data, so the clear part cannot be changed either.
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
    boolean radix = node.version() == MapNode.RADIX;
    int keyBytes = radix ? 4 : 8;
    int refBytes = radix ? BlockRef.BYTES : MapNode.MAX_ENTRY_BYTES;
    byte[] bytes = new byte[HEADER + n * (refBytes + keyBytes) + BlockCipher.TAG_BYTES];
    ByteBuffer out = ByteBuffer.wrap(bytes);
    out.putInt(MapNode.SEALED_MAGIC).put((byte) node.version()).put((byte) node.level())
        .put((byte) (radix ? MapNode.FANOUT_BITS : 0)).put((byte) 0).putInt(n);
    ByteBuffer keys = ByteBuffer.allocate(keyBytes * n);
    if (radix) {
      for (int i : order) {
        node.refAt(i).writeTo(out);
        keys.putInt((int) node.keyAt(i));
      }
    } else {
      BlockRef prev = null;
      for (int i : order) {
        MapNode.writeRef(out, prev, node.refAt(i));
        prev = node.refAt(i);
        keys.putLong(node.keyAt(i));
      }
    }
    byte[] clear = Arrays.copyOf(bytes, out.position());
    cipher.seal(ref, keys.flip(), clear, out);
    return ByteBuffer.wrap(Arrays.copyOf(bytes, out.position()));
  }

  /** The plain form ({@link MapNode#encode}) of the sealed node {@code sealed}. */
  static ByteBuffer open(BlockCipher cipher, BlockRef ref, ByteBuffer sealed) {
    int[] clearEnd = new int[1];
    // checks the header and the clear refs
    MapNode clear = MapNode.decode(ref, sealed, clearEnd);
    if (!clear.opaque()) {
      throw new CorruptBlockException("map node " + ref + " of an encrypted volume is not"
          + " sealed");
    }
    int n = clear.size();
    boolean radix = clear.version() == MapNode.RADIX;
    int clearBytes = radix ? HEADER + n * BlockRef.BYTES : clearEnd[0];
    byte[] aad = new byte[clearBytes];
    sealed.duplicate().get(aad);
    ByteBuffer body = sealed.duplicate();
    body.position(body.position() + clearBytes);
    ByteBuffer opened = cipher.open(ref, body, aad);
    long[] keyOf = new long[n];
    Integer[] byKey = new Integer[n];
    for (int i = 0; i < n; i++) {
      keyOf[i] = radix ? opened.getInt() : opened.getLong();
      byKey[i] = i;
    }
    Arrays.sort(byKey, Comparator.comparingLong(i -> keyOf[i]));
    long[] k = new long[n];
    BlockRef[] r = new BlockRef[n];
    for (int i = 0; i < n; i++) {
      k[i] = keyOf[byKey[i]];
      r[i] = clear.refAt(byKey[i]);
    }
    return MapNode.of(ref, clear.version(), clear.level(), k, r).encode();
  }
}
