package io.torus.internal.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.testing.cluster.MiniCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Erasure-coded 4+2 volumes on six in-process peers: random writes, overwrites, trims,
 * flushes, snapshots and clones against a {@code byte[]} model; every byte readable with any
 * two peers down, never a wrong byte with three; and the space a sequential write takes.
 */
class ErasureVolumeTest {
  private static final int BLOCK = 4096;
  private static final io.torus.spi.KeyProvider KEK =
      io.torus.KeyProviders.ofKey(new byte[32]);

  @TempDir
  Path dir;
  private MiniCluster cluster;
  /** Every node's meters (tagged by node). */
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @BeforeEach
  void start() {
    // no block cache: every read goes to the peers
    cluster = MiniCluster.builder(dir).nodes(6).storeCapacity(256L << 20)
        .configure(n -> n.cacheBytes(0).dirtyBytes(256 << 10).meterRegistry(meters)
            .keyProvider(KEK)).start();
    cluster.awaitRing(Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void randomOperationsSnapshotsAndClonesMatchTheModelAndSurviveTwoLostPeers() {
    long seed = Long.getLong("torus.seed", System.nanoTime());
    System.out.printf("ErasureVolumeTest seed %d%n", seed);
    Random rnd = new Random(seed);
    Torus torus = cluster.node(0);
    int size = BLOCK * 48 + 512 * 3;
    VolumeInfo info = torus.createVolume(VolumeSpec.builder("e", size).blockSize(BLOCK)
        .erasure(4, 2).build());
    assertThat(info.erasure().toString()).isEqualTo("4+2");
    assertThat(info.replication()).isEqualTo(3); // map nodes: m + 1 copies
    byte[] model = new byte[size];
    Map<String, byte[]> snapshots = new LinkedHashMap<>();
    BlockVolume v = torus.openVolume("e");
    for (int op = 0; op < 600; op++) {
      String ctx = "seed " + seed + " op " + op;
      int kind = rnd.nextInt(100);
      long off = rnd.nextInt(size);
      int len = rnd.nextInt((int) Math.min(size - off, 5L * BLOCK) + 1);
      if (kind < 40) {
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        v.write(off, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, (int) off, len);
      } else if (kind < 65) {
        ByteBuffer dst = ByteBuffer.allocate(len);
        v.read(off, dst);
        assertThat(dst.array()).as(ctx).isEqualTo(Arrays.copyOfRange(model, (int) off,
            (int) off + len));
      } else if (kind < 72) {
        v.trim(off, len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
      } else if (kind < 77) {
        v.writeZeroes(off, len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
      } else if (kind < 87) {
        v.flush();
      } else if (kind < 91) {
        v.flush();
        String name = "s" + op;
        torus.createSnapshot("e", name);
        snapshots.put(name, model.clone());
      } else if (kind < 94 && !snapshots.isEmpty()) {
        String snap = snapshots.keySet().stream().skip(rnd.nextInt(snapshots.size()))
            .findFirst().orElseThrow();
        checkClone(torus, snap, snapshots.get(snap), rnd, ctx);
      } else if (kind < 97) {
        v.close();
        v = torus.openVolume("e");
      }
    }
    v.flush();
    checkAll(v, model, "seed " + seed + " end");
    v.close();

    // two peers down (their shards gone with them): every byte still reads back
    cluster.kill(2);
    cluster.kill(4);
    try (BlockVolume ro = torus.openVolumeReadOnly("e")) {
      checkAll(ro, model, "seed " + seed + " with two peers down");
    }
    for (Map.Entry<String, byte[]> s : snapshots.entrySet()) {
      try (BlockVolume snap = torus.openSnapshot("e", s.getKey())) {
        checkAll(snap, s.getValue(), "snapshot " + s.getKey() + " with two peers down");
      }
    }

    double degraded = meters.find("torus.erasure.degraded.reads").functionCounters().stream()
        .mapToDouble(io.micrometer.core.instrument.FunctionCounter::count).sum();
    assertThat(degraded).as("degraded reads in the metrics").isPositive();

    // a third: blocks whose own shard is up read back, the rest fail clearly, none is wrong
    cluster.kill(5);
    int failed = 0;
    try (BlockVolume ro = torus.openVolumeReadOnly("e")) {
      for (int b = 0; b * BLOCK < size; b++) {
        int len = Math.min(BLOCK, size - b * BLOCK);
        ByteBuffer dst = ByteBuffer.allocate(len);
        try {
          ro.read((long) b * BLOCK, dst);
          assertThat(dst.array()).as("block %d with three peers down", b)
              .isEqualTo(Arrays.copyOfRange(model, b * BLOCK, b * BLOCK + len));
        } catch (TorusException e) {
          // a shard's stripe, or a map node whose three copies were all on the lost peers
          assertThat(e).isInstanceOf(BlockUnavailableException.class)
              .hasMessageMatching("(?s).*(stripe data:|no good copy of block map:).*");
          failed++;
        }
      }
    }
    assertThat(failed).as("blocks unreadable with three of six peers down").isPositive();

    // back up: everything reads again
    cluster.restart(2);
    cluster.restart(4);
    cluster.restart(5);
    try (BlockVolume ro = cluster.node(0).openVolumeReadOnly("e")) {
      checkAll(ro, model, "seed " + seed + " after restarts");
    }
  }

  /**
   * The collector frees a stripe only once none of its blocks is live: a stripe with one live
   * block keeps all its shards (they rebuild one another), a stripe of dead blocks goes.
   */
  @Test
  void collectionFreesAStripeOnlyWhenNoneOfItsBlocksIsLive() {
    Torus torus = cluster.node(0);
    int block = 16384;
    torus.createVolume(VolumeSpec.builder("gc", 8L * block).blockSize(block).erasure(4, 2)
        .build());
    byte[] model = new byte[8 * block];
    new Random(3).nextBytes(model);
    try (BlockVolume v = torus.openVolume("gc")) {
      v.write(0, ByteBuffer.wrap(model)); // stripes A (blocks 0-3) and B (4-7)
      v.flush();
      byte[] again = new byte[5 * block];
      new Random(4).nextBytes(again);
      v.write(0, ByteBuffer.wrap(again)); // A dead; B keeps blocks 5-7
      System.arraycopy(again, 0, model, 0, again.length);
      v.flush();
    }
    long before = storeBytes();
    io.torus.GcResult first = torus.collectGarbage();
    long freed = before - storeBytes();
    System.out.printf("ErasureVolumeTest: first collection %s, %d bytes freed%n", first, freed);
    // stripe A's 4 data and 2 parity shards, and replaced roots (3 copies each: how many
    // roots a flush and a close commit depends on the idle-head committer's timing); nothing
    // of B: the shards are 16 KiB each, a root of 8 entries a few dozen bytes
    assertMapNodesAndOneStripe(first.deletedBlocks(), freed, block);
    try (BlockVolume v = torus.openVolumeReadOnly("gc")) {
      checkAll(v, model, "after the first collection");
    }
    try (BlockVolume v = torus.openVolume("gc")) {
      byte[] rest = new byte[3 * block];
      new Random(5).nextBytes(rest);
      v.write(5L * block, ByteBuffer.wrap(rest)); // now B is dead too
      System.arraycopy(rest, 0, model, 5 * block, rest.length);
      v.flush();
    }
    before = storeBytes();
    io.torus.GcResult second = torus.collectGarbage();
    freed = before - storeBytes();
    System.out.printf("ErasureVolumeTest: second collection %s, %d bytes freed%n", second,
        freed);
    assertMapNodesAndOneStripe(second.deletedBlocks(), freed, block);
    try (BlockVolume v = torus.openVolumeReadOnly("gc")) {
      checkAll(v, model, "after the second collection");
    }
  }

  /**
   * On a ring larger than the stripe, a shard whose peer is down goes to a fallback peer of
   * the stripe: writes go on with peers down, and every block reads back, also once they are
   * up again.
   */
  @Test
  void writesGoOnWithPeersDownWhenTheRingHasSparePeers() {
    Torus torus = cluster.node(0);
    int size = 64 * BLOCK;
    torus.createVolume(VolumeSpec.builder("spare", size).blockSize(BLOCK).erasure(2, 1)
        .build());
    cluster.kill(2);
    cluster.kill(5);
    byte[] model = new byte[size];
    new Random(13).nextBytes(model);
    try (BlockVolume v = torus.openVolume("spare")) {
      v.write(0, ByteBuffer.wrap(model));
      v.flush();
      checkAll(v, model, "written with two peers down");
    }
    cluster.restart(2);
    cluster.restart(5);
    try (BlockVolume v = cluster.node(0).openVolumeReadOnly("spare")) {
      checkAll(v, model, "after the peers came back");
    }
  }

  /** Encryption sits above the stripes: parity is coded from ciphertext, reads decode it. */
  @Test
  void anEncryptedErasureCodedVolumeReadsBackWithTwoPeersDown() {
    Torus torus = cluster.node(0);
    int size = 64 * BLOCK;
    VolumeInfo info = torus.createVolume(VolumeSpec.builder("enc", size).blockSize(BLOCK)
        .erasure(4, 2).encryption(KEK).build());
    assertThat(info.encrypted()).isTrue();
    byte[] model = new byte[size];
    new Random(11).nextBytes(model);
    try (BlockVolume v = torus.openVolume("enc")) {
      v.write(0, ByteBuffer.wrap(model));
      v.flush();
    }
    cluster.kill(1);
    cluster.kill(3);
    try (BlockVolume v = torus.openVolumeReadOnly("enc")) {
      checkAll(v, model, "encrypted, two peers down");
    }
  }

  private static void checkClone(Torus torus, String snap, byte[] content, Random rnd,
      String ctx) {
    String name = "c" + Math.abs(rnd.nextInt());
    VolumeInfo clone = torus.cloneVolume("e", snap, name);
    assertThat(clone.erasure()).as("a clone keeps its origin's policy").isNotNull();
    byte[] mine = content.clone();
    try (BlockVolume c = torus.openVolume(name)) {
      checkAll(c, content, ctx + " clone of " + snap);
      byte[] data = new byte[3 * BLOCK];
      rnd.nextBytes(data);
      int off = rnd.nextInt(content.length - data.length);
      c.write(off, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, mine, off, data.length);
      c.flush();
      checkAll(c, mine, ctx + " clone written");
    }
    try (BlockVolume s = torus.openSnapshot("e", snap)) {
      checkAll(s, content, ctx + " snapshot after its clone was written");
    }
  }

  private static void checkAll(BlockVolume v, byte[] model, String ctx) {
    ByteBuffer all = ByteBuffer.allocate(model.length);
    v.read(0, all);
    assertThat(all.array()).as(ctx).isEqualTo(model);
  }

  /**
   * N bytes written sequentially and flushed take at most 1.05 × N × (k+m)/k on the peers'
   * stores, plus the map nodes. Measured as the growth of the stores' used bytes beside a
   * replicated volume (2 copies) written the same way: a file store keeps each block in whole
   * 4 KiB units behind a 48-byte header (a 16 KiB block takes 20 KiB), the same per block for
   * both, so the ratio of the two is that of the bytes stored.
   */
  @Test
  void aSequentialWriteStoresOneAndAHalfTimesItsBytes() {
    long n = 16L << 20;
    long erasure = written(VolumeSpec.builder("ec", n).blockSize(16384).erasure(4, 2).build());
    long replicated = written(VolumeSpec.builder("r2", n).blockSize(16384).replication(2)
        .build());
    double unitsPerCopy = replicated / (2.0 * n);
    double ratio = erasure / (n * unitsPerCopy);
    System.out.printf("ErasureVolumeTest: %d bytes took %d bytes erasure-coded 4+2, %d"
        + " replicated twice; %.4f copies' worth (goal <= %.4f)%n", n, erasure, replicated,
        ratio, 1.05 * 6 / 4);
    long mapNodes = 3L * 8 * 20480; // a few map nodes, 3 copies each
    assertThat(erasure).isLessThanOrEqualTo((long) (1.05 * n * 6 / 4 * unitsPerCopy) + mapNodes);
    assertThat(erasure).as("at least data and parity")
        .isGreaterThanOrEqualTo((long) (n * 6 / 4 * unitsPerCopy) - mapNodes);
  }

  /**
   * What a collection deleted is one stripe of 4+2 shards of {@code block} bytes and at least
   * one replaced root of 3 copies: the count is 6 plus a multiple of 3 (at least 3), and the
   * bytes freed hold 6 shards but not 12.
   */
  private static void assertMapNodesAndOneStripe(long deleted, long freed, int block) {
    assertThat(deleted).isGreaterThanOrEqualTo(6 + 3);
    assertThat((deleted - 6) % 3).as("%d deleted: 6 shards and map nodes of 3 copies", deleted)
        .isZero();
    assertThat(freed).as("bytes freed: one stripe's shards").isGreaterThanOrEqualTo(6L * block)
        .isLessThan(12L * block);
  }

  /** How much the stores grew by writing a new volume of {@code spec} once and flushing. */
  private long written(VolumeSpec spec) {
    Torus torus = cluster.node(0);
    torus.createVolume(spec);
    long before = storeBytes();
    byte[] chunk = new byte[1 << 20];
    new Random(7).nextBytes(chunk);
    try (BlockVolume v = torus.openVolume(spec.name())) {
      for (long off = 0; off < spec.size(); off += chunk.length) {
        chunk[0]++;
        v.write(off, ByteBuffer.wrap(chunk));
      }
      v.flush();
    }
    return storeBytes() - before;
  }

  private long storeBytes() {
    return (long) meters.find("torus.store.used").gauges().stream()
        .mapToDouble(io.micrometer.core.instrument.Gauge::value).sum();
  }
}
