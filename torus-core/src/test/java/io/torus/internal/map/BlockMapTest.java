package io.torus.internal.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BlockMapTest {
  private final Map<BlockRef, ByteBuffer> nodes = new HashMap<>();
  private final AtomicInteger seq = new AtomicInteger();
  private int writes;
  private long bytesWritten;

  private MapNode read(BlockRef ref) {
    return MapNode.decode(ref, nodes.get(ref));
  }

  private BlockRef write(MapNode node) {
    writes++;
    BlockRef ref = new BlockRef(1, 1, seq.getAndIncrement(), BlockKind.MAP);
    ByteBuffer enc = node.encode();
    bytesWritten += enc.remaining();
    nodes.put(ref, enc);
    return ref;
  }

  private BlockRef apply(boolean radix, BlockRef root, long blocks,
      TreeMap<Long, BlockRef> changes) {
    return radix ? BlockMap.applyRadix(this::read, this::write, root, blocks, changes)
        : BlockMap.apply(this::read, this::write, root, blocks, changes);
  }

  private static BlockRef data(int n) {
    return new BlockRef(1, 1, 1_000_000 + n, BlockKind.DATA);
  }

  /** The nodes reachable from {@code root}, checking each is of {@code version}. */
  private List<MapNode> tree(BlockRef root, int version) {
    List<MapNode> all = new ArrayList<>();
    ArrayDeque<BlockRef> todo = new ArrayDeque<>();
    if (root != null) {
      todo.add(root);
    }
    while (!todo.isEmpty()) {
      MapNode n = read(todo.poll());
      assertThat(n.version()).isEqualTo(version);
      all.add(n);
      if (n.level() > 0) {
        for (int i = 0; i < n.size(); i++) {
          todo.add(n.refAt(i));
        }
      }
    }
    return all;
  }

  private void checkAgainst(TreeMap<Long, BlockRef> model, BlockRef root, long blocks,
      Random rnd, long seed) {
    for (int i = 0; i < 300; i++) {
      long idx = (long) (rnd.nextDouble() * blocks);
      Long near = model.ceilingKey(idx);
      if (rnd.nextBoolean() && near != null) {
        idx = near; // probe written blocks as often as holes
      }
      assertThat(BlockMap.lookup(this::read, root, idx)).as("seed %d idx %d", seed, idx)
          .isEqualTo(model.get(idx));
    }
    BlockMap.Cursor cursor = new BlockMap.Cursor(this::read, root);
    long start = (long) (rnd.nextDouble() * blocks);
    for (long idx = start; idx < Math.min(blocks, start + 3000); idx++) {
      assertThat(cursor.lookup(idx)).as("seed %d cursor idx %d", seed, idx)
          .isEqualTo(model.get(idx));
    }
    for (Long idx : model.keySet()) {
      assertThat(cursor.lookup(idx)).isEqualTo(model.get(idx));
    }
    List<Long> all = new ArrayList<>();
    BlockMap.allocated(this::read, root, 0, blocks, all::add);
    assertThat(all).as("seed %d", seed).containsExactlyElementsOf(model.keySet());
    long from = (long) (rnd.nextDouble() * blocks);
    long to = from + rnd.nextInt(1 << 20);
    List<Long> part = new ArrayList<>();
    BlockMap.allocated(this::read, root, from, to, part::add);
    assertThat(part).containsExactlyElementsOf(model.subMap(from, true, to, false).keySet());
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void randomChangesMatchModel(boolean radix) {
    long seed = System.nanoTime();
    System.out.println("BlockMapTest seed " + seed + (radix ? " (radix)" : " (sorted)"));
    Random rnd = new Random(seed);
    TreeMap<Long, BlockRef> model = new TreeMap<>();
    BlockRef root = null;
    long blocks = 1L << 22;
    for (int round = 0; round < 80; round++) {
      TreeMap<Long, BlockRef> changes = new TreeMap<>();
      int n = 1 + rnd.nextInt(round < 40 ? 600 : 200);
      boolean trims = round >= 50 && rnd.nextBoolean(); // rounds that mostly punch holes
      long runStart = (long) (rnd.nextDouble() * blocks);
      for (int i = 0; i < n; i++) {
        int shape = rnd.nextInt(4);
        long idx = shape == 0 ? rnd.nextInt(3000) // dense at the start
            : shape == 1 ? runStart + i // a sequential run
            : (long) (rnd.nextDouble() * blocks);
        if (idx >= blocks) {
          continue;
        }
        if (trims && !model.isEmpty()) {
          Long at = model.ceilingKey(idx);
          changes.put(at == null ? idx : at, null);
        } else {
          changes.put(idx, rnd.nextInt(5) == 0 ? null : data(rnd.nextInt(1 << 20)));
        }
      }
      root = apply(radix, root, blocks, changes);
      changes.forEach((k, v) -> {
        if (v == null) {
          model.remove(k);
        } else {
          model.put(k, v);
        }
      });
      checkAgainst(model, root, blocks, rnd, seed);
      if (!radix) {
        checkShape(root, model.size());
      }
    }
  }

  /** A B+-tree's invariants: keys bound their subtrees, one leaf level, nodes within capacity. */
  private void checkShape(BlockRef root, int entries) {
    if (root == null) {
      assertThat(entries).isZero();
      return;
    }
    MapNode top = read(root);
    assertThat(top.level() == 0 || top.size() >= 2).as("a root keeps two children").isTrue();
    int[] leafEntries = {0};
    checkNode(top, Long.MIN_VALUE, Long.MAX_VALUE, leafEntries);
    assertThat(leafEntries[0]).isEqualTo(entries);
  }

  private void checkNode(MapNode n, long lo, long hi, int[] leafEntries) {
    assertThat(n.version()).isEqualTo(MapNode.SORTED);
    assertThat(n.size()).isBetween(1, MapNode.CAPACITY);
    for (int i = 0; i < n.size(); i++) {
      assertThat(n.keyAt(i)).isGreaterThanOrEqualTo(lo).isLessThan(hi);
      if (n.level() == 0) {
        leafEntries[0]++;
      } else {
        MapNode child = read(n.refAt(i));
        assertThat(child.level()).isEqualTo(n.level() - 1);
        long childHi = i + 1 < n.size() ? n.keyAt(i + 1) : hi;
        checkNode(child, n.keyAt(i), childHi, leafEntries);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void removingEverythingGivesNullRoot(boolean radix) {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (long i = 0; i < 5000; i++) {
      changes.put(i * 977, data((int) i));
    }
    BlockRef root = apply(radix, null, 10_000_000, changes);
    assertThat(root).isNotNull();
    changes.replaceAll((k, v) -> null);
    assertThat(apply(radix, root, 10_000_000, changes)).isNull();
  }

  @Test
  void shrinkingTreesMergeNodesAndDropRoots() {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (long i = 0; i < 80_000; i++) {
      changes.put(i * 3, data((int) i));
    }
    BlockRef root = BlockMap.apply(this::read, this::write, null, 1 << 20, changes);
    assertThat(read(root).level()).isEqualTo(1);
    int before = tree(root, MapNode.SORTED).size();
    // punch out 15 of every 16 entries: the leaves fall under a quarter and merge
    TreeMap<Long, BlockRef> trims = new TreeMap<>();
    for (long i = 0; i < 80_000; i++) {
      if (i % 16 != 0) {
        trims.put(i * 3, null);
      }
    }
    root = BlockMap.apply(this::read, this::write, root, 1 << 20, trims);
    List<MapNode> after = tree(root, MapNode.SORTED);
    assertThat(after.size()).isLessThan(before / 4);
    checkShape(root, 5000);
    // down to a few entries: one leaf is the root again
    TreeMap<Long, BlockRef> most = new TreeMap<>();
    for (long i = 16; i < 80_000; i += 16) {
      most.put(i * 3, null);
    }
    root = BlockMap.apply(this::read, this::write, root, 1 << 20, most);
    assertThat(read(root).level()).isZero();
    assertThat(read(root).size()).isEqualTo(1);
    assertThat(BlockMap.lookup(this::read, root, 0)).isEqualTo(data(0));
  }

  /**
   * A 1 TiB volume of 16 KiB blocks (2^26) with 1 GiB (65 536 blocks) written at random:
   * the map takes fewer nodes than 0.1 % of the blocks and fewer bytes than 0.1 % of the data,
   * however the writes are spread; a radix tree takes a leaf for nearly every block.
   */
  @Test
  void sparseRandomWritesCostTheirEntriesNotTheirSpread() {
    long blocks = 1L << 26;
    Random rnd = new Random(11);
    BlockRef root = null;
    BlockRef radixRoot = null;
    int written = 65_536;
    Set<Long> indexes = new HashSet<>();
    for (int flush = 0; flush < 16; flush++) {
      TreeMap<Long, BlockRef> changes = new TreeMap<>();
      while (changes.size() < written / 16) {
        long idx = (long) (rnd.nextDouble() * blocks);
        if (indexes.add(idx)) {
          changes.put(idx, new BlockRef(9, 10 + flush, changes.size(), BlockKind.DATA));
        }
      }
      root = BlockMap.apply(this::read, this::write, root, blocks, changes);
      radixRoot = BlockMap.applyRadix(this::read, this::write, radixRoot, blocks, changes);
    }
    List<MapNode> sorted = tree(root, MapNode.SORTED);
    long sortedBytes = sorted.stream().mapToLong(n -> n.encode().remaining()).sum();
    List<MapNode> radixTree = tree(radixRoot, MapNode.RADIX);
    long radixBytes = radixTree.stream().mapToLong(n -> n.encode().remaining()).sum();
    System.out.printf("1 TiB volume, %d random 16 KiB blocks: B+-tree %d nodes %d bytes;"
        + " radix %d nodes %d bytes%n", written, sorted.size(), sortedBytes, radixTree.size(),
        radixBytes);
    checkShape(root, written);
    assertThat(sorted.size()).isLessThanOrEqualTo(written / 1000);
    assertThat(sortedBytes).isLessThanOrEqualTo(written * 16384L / 1000);
    assertThat(radixTree.size()).isGreaterThan(written / 2);
    // a flush of 64 random blocks rewrites one path per block at most
    TreeMap<Long, BlockRef> flush = new TreeMap<>();
    for (int i = 0; i < 64; i++) {
      flush.put((long) (rnd.nextDouble() * blocks), data(i));
    }
    writes = 0;
    bytesWritten = 0;
    BlockRef after = BlockMap.apply(this::read, this::write, root, blocks, flush);
    System.out.printf("a flush of 64 random blocks writes %d nodes, %d bytes%n", writes,
        bytesWritten);
    assertThat(writes).isLessThanOrEqualTo(64 + 1);
    flush.forEach((k, v) -> assertThat(BlockMap.lookup(this::read, after, k)).isEqualTo(v));
  }

  @Test
  void sequentialWritesFillTheirLeaves() {
    BlockRef root = null;
    for (int flush = 0; flush < 64; flush++) {
      TreeMap<Long, BlockRef> changes = new TreeMap<>();
      for (int i = 0; i < 1024; i++) {
        changes.put(flush * 1024L + i, new BlockRef(9, 2 + flush, i, BlockKind.DATA));
      }
      root = BlockMap.apply(this::read, this::write, root, 1L << 26, changes);
    }
    List<MapNode> nodes = tree(root, MapNode.SORTED);
    // 65 536 entries in full leaves of 2048, and a root
    assertThat(nodes).hasSize(65_536 / MapNode.CAPACITY + 1);
    long bytes = nodes.stream().mapToLong(n -> n.encode().remaining()).sum();
    assertThat(bytes).as("about 3 bytes an entry").isLessThan(65_536L * 4);
  }

  @Test
  void aRadixTreeStaysARadixTreeAndReadsAsBefore() {
    long blocks = 1L << 22;
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    Random rnd = new Random(3);
    for (int i = 0; i < 3000; i++) {
      changes.put((long) rnd.nextInt((int) blocks), data(i));
    }
    BlockRef root = BlockMap.applyRadix(this::read, this::write, null, blocks, changes);
    TreeMap<Long, BlockRef> model = new TreeMap<>(changes);
    TreeMap<Long, BlockRef> more = new TreeMap<>();
    for (int i = 0; i < 500; i++) {
      more.put((long) rnd.nextInt((int) blocks), rnd.nextBoolean() ? null : data(5000 + i));
    }
    root = BlockMap.apply(this::read, this::write, root, blocks, more);
    more.forEach((k, v) -> {
      if (v == null) {
        model.remove(k);
      } else {
        model.put(k, v);
      }
    });
    tree(root, MapNode.RADIX);
    checkAgainst(model, root, blocks, rnd, 3);
  }

  @Test
  void syncCostGrowsWithDirtyDataNotVolumeSize() {
    long small = 1L << 14; // 1 GiB of 64 KiB blocks
    long huge = 1L << 24;  // 1 TiB of 64 KiB blocks
    Random rnd = new Random(7);
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (int i = 0; i < 64; i++) {
      changes.put((long) rnd.nextInt((int) small), data(i));
    }
    writes = 0;
    BlockMap.applyRadix(this::read, this::write, null, huge, changes);
    // one path per change at most: height 3 for 2^24 blocks
    assertThat(writes).isLessThanOrEqualTo(64 * 3);
    writes = 0;
    BlockRef sorted = BlockMap.apply(this::read, this::write, null, huge, changes);
    assertThat(writes).isEqualTo(1); // 64 entries: one leaf
    // growing a radix tree wraps its root: old entries stay reachable
    BlockRef root = BlockMap.applyRadix(this::read, this::write, null, small, changes);
    TreeMap<Long, BlockRef> more = new TreeMap<>();
    more.put(huge - 1, data(999));
    BlockRef grown = BlockMap.apply(this::read, this::write, root, huge, more);
    assertThat(read(grown).level()).isEqualTo(2);
    BlockRef sortedGrown = BlockMap.apply(this::read, this::write, sorted, huge, more);
    for (Map.Entry<Long, BlockRef> e : changes.entrySet()) {
      assertThat(BlockMap.lookup(this::read, grown, e.getKey())).isEqualTo(e.getValue());
      assertThat(BlockMap.lookup(this::read, sortedGrown, e.getKey())).isEqualTo(e.getValue());
    }
    assertThat(BlockMap.lookup(this::read, grown, huge - 1)).isEqualTo(data(999));
    assertThat(BlockMap.lookup(this::read, sortedGrown, huge - 1)).isEqualTo(data(999));
  }

  @Test
  void mapNodeGoldenBytes() {
    MapNode.Builder b = new MapNode.Builder(MapNode.RADIX, 0);
    b.add(3, new BlockRef(2, 5, 7, BlockKind.DATA));
    ByteBuffer enc = b.build().encode();
    assertThat(HexFormat.of().formatHex(enc.array())).isEqualTo(
        "544d4150" + "01" + "00" + "0a" + "00" + "00000001"
        + "00000003" + "0000000000000002" + "0000000000000005" + "00000007" + "000000" + "00");
    // version 2: block 3 → data:2/5/7, block 300 → data:2/5/6, block 301 → data:2/6/0 of a
    // 4+2 stripe layout
    MapNode.Builder v2 = new MapNode.Builder(MapNode.SORTED, 0);
    v2.add(3, new BlockRef(2, 5, 7, BlockKind.DATA));
    v2.add(300, new BlockRef(2, 5, 6, BlockKind.DATA));
    v2.add(301, new BlockRef(2, 6, 0, BlockKind.DATA, 4, 2));
    ByteBuffer enc2 = v2.build().encode();
    byte[] bytes2 = new byte[enc2.remaining()];
    enc2.duplicate().get(bytes2);
    assertThat(HexFormat.of().formatHex(bytes2)).isEqualTo(
        "544d4150" + "02" + "00" + "0000" + "00000003"
        + "03" + "03" + "02" + "05" + "0e"    // key 3; volume 2, generation 5; sequence +7
        + "a802" + "00" + "01"                // key +297 (300); same; sequence -1
        + "00" + "06" + "06" + "0402" + "0b"); // key +1; generation 6, layout 4+2; seq -6
    MapNode back = MapNode.decode(new BlockRef(1, 1, 1, BlockKind.MAP), enc2);
    assertThat(back.keyAt(1)).isEqualTo(300);
    assertThat(back.refAt(2)).isEqualTo(new BlockRef(2, 6, 0, BlockKind.DATA, 4, 2));
  }

  @Test
  void corruptNodeIsDetected() {
    BlockRef ref = new BlockRef(1, 1, 1, BlockKind.MAP);
    for (int version : new int[] {MapNode.RADIX, MapNode.SORTED}) {
      MapNode.Builder b = new MapNode.Builder(version, 1);
      b.add(9, new BlockRef(2, 5, 7, BlockKind.MAP));
      b.add(10, new BlockRef(2, 5, 8, BlockKind.MAP));
      ByteBuffer enc = b.build().encode();
      enc.put(5, (byte) 0); // level 0 with a MAP child
      assertThatThrownBy(() -> MapNode.decode(ref, enc))
          .isInstanceOf(CorruptBlockException.class).hasMessageContaining(ref.toString());
      ByteBuffer truncated = b.build().encode();
      truncated.limit(truncated.limit() - 1);
      assertThatThrownBy(() -> MapNode.decode(ref, truncated))
          .isInstanceOf(CorruptBlockException.class);
      ByteBuffer longer = ByteBuffer.allocate(b.build().encode().remaining() + 1)
          .put(b.build().encode());
      assertThatThrownBy(() -> MapNode.decode(ref, longer.rewind()))
          .isInstanceOf(CorruptBlockException.class);
      ByteBuffer count = b.build().encode();
      count.putInt(8, 3);
      assertThatThrownBy(() -> MapNode.decode(ref, count))
          .isInstanceOf(CorruptBlockException.class);
    }
    ByteBuffer flags = new MapNode.Builder(MapNode.SORTED, 0).build().encode();
    ByteBuffer badFlags = ByteBuffer.allocate(flags.remaining() + 3).put(flags)
        .put((byte) 0).put((byte) 0x80).put((byte) 0).flip();
    badFlags.putInt(8, 1);
    assertThatThrownBy(() -> MapNode.decode(ref, badFlags))
        .isInstanceOf(CorruptBlockException.class);
    assertThatThrownBy(() -> MapNode.decode(ref, ByteBuffer.allocate(40)))
        .isInstanceOf(CorruptBlockException.class).hasMessageContaining("bad magic");
  }
}
