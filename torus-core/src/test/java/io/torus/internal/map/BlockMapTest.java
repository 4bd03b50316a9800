package io.torus.internal.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BlockMapTest {
  private final Map<BlockRef, ByteBuffer> nodes = new HashMap<>();
  private final AtomicInteger seq = new AtomicInteger();
  private int writes;

  private MapNode read(BlockRef ref) {
    return MapNode.decode(ref, nodes.get(ref));
  }

  private BlockRef write(MapNode node) {
    writes++;
    BlockRef ref = new BlockRef(1, 1, seq.getAndIncrement(), BlockKind.MAP);
    nodes.put(ref, node.encode());
    return ref;
  }

  private static BlockRef data(int n) {
    return new BlockRef(1, 1, 1_000_000 + n, BlockKind.DATA);
  }

  @Test
  void randomChangesMatchModel() {
    long seed = System.nanoTime();
    System.out.println("BlockMapTest seed " + seed);
    Random rnd = new Random(seed);
    TreeMap<Long, BlockRef> model = new TreeMap<>();
    BlockRef root = null;
    long blocks = 1L << 22;
    for (int round = 0; round < 60; round++) {
      TreeMap<Long, BlockRef> changes = new TreeMap<>();
      int n = 1 + rnd.nextInt(200);
      for (int i = 0; i < n; i++) {
        long idx = rnd.nextInt(4) == 0 ? rnd.nextInt(3000) : (long) (rnd.nextDouble() * blocks);
        changes.put(idx, rnd.nextInt(5) == 0 ? null : data(rnd.nextInt(1 << 20)));
      }
      root = BlockMap.apply(this::read, this::write, root, blocks, changes);
      changes.forEach((k, v) -> {
        if (v == null) {
          model.remove(k);
        } else {
          model.put(k, v);
        }
      });
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
  }

  @Test
  void removingEverythingGivesNullRoot() {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    changes.put(5L, data(5));
    changes.put(5_000_000L, data(6));
    BlockRef root = BlockMap.apply(this::read, this::write, null, 10_000_000, changes);
    assertThat(root).isNotNull();
    changes.put(5L, null);
    changes.put(5_000_000L, null);
    assertThat(BlockMap.apply(this::read, this::write, root, 10_000_000, changes)).isNull();
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
    BlockMap.apply(this::read, this::write, null, huge, changes);
    // one path per change at most: height 3 for 2^24 blocks
    assertThat(writes).isLessThanOrEqualTo(64 * 3);
    // growing a tree wraps its root: old entries stay reachable
    BlockRef root = BlockMap.apply(this::read, this::write, null, small, changes);
    TreeMap<Long, BlockRef> more = new TreeMap<>();
    more.put(huge - 1, data(999));
    BlockRef grown = BlockMap.apply(this::read, this::write, root, huge, more);
    assertThat(read(grown).level()).isEqualTo(2);
    for (Map.Entry<Long, BlockRef> e : changes.entrySet()) {
      assertThat(BlockMap.lookup(this::read, grown, e.getKey())).isEqualTo(e.getValue());
    }
    assertThat(BlockMap.lookup(this::read, grown, huge - 1)).isEqualTo(data(999));
  }

  @Test
  void mapNodeGoldenBytes() {
    MapNode.Builder b = new MapNode.Builder(0);
    b.add(3, new BlockRef(2, 5, 7, BlockKind.DATA));
    ByteBuffer enc = b.build().encode();
    assertThat(HexFormat.of().formatHex(enc.array())).isEqualTo(
        "544d4150" + "01" + "00" + "0a" + "00" + "00000001"
        + "00000003" + "0000000000000002" + "0000000000000005" + "00000007" + "000000" + "00");
  }

  @Test
  void corruptNodeIsDetected() {
    BlockRef ref = new BlockRef(1, 1, 1, BlockKind.MAP);
    MapNode.Builder b = new MapNode.Builder(1);
    b.add(9, new BlockRef(2, 5, 7, BlockKind.MAP));
    ByteBuffer enc = b.build().encode();
    enc.put(5, (byte) 0); // level 0 with a MAP child
    assertThatThrownBy(() -> MapNode.decode(ref, enc)).isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref.toString());
    ByteBuffer truncated = b.build().encode().limit(20);
    assertThatThrownBy(() -> MapNode.decode(ref, truncated))
        .isInstanceOf(CorruptBlockException.class);
    assertThatThrownBy(() -> MapNode.decode(ref, ByteBuffer.allocate(40)))
        .isInstanceOf(CorruptBlockException.class).hasMessageContaining("bad magic");
  }
}
