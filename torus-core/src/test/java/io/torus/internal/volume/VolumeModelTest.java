package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Extent;
import io.torus.Torus;
import io.torus.KeyProviders;
import io.torus.TorusBuilder;
import io.torus.spi.KeyProvider;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.MiniCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Random operation sequences on a volume, checked against a plain {@code byte[]} model. The
 * seed is printed; rerun with {@code -Dtorus.seed=N} to replay a failure.
 */
class VolumeModelTest {
  @TempDir
  Path dir;

  /** A {@code cluster} row runs on three in-process peers with two copies per block. */
  @ParameterizedTest(name = "{0} blocks, {1} store, dirty {2}, cache {3}")
  @CsvSource({
      "4096, memory, 16384, 0",
      "65536, memory, 262144, 1048576",
      "4096, file, 1048576, 65536",
      "16384, file, 65536, 0",
      "1048576, memory, 2097152, 0",
      "4096, cluster, 65536, 0",
      "65536, cluster, 262144, 1048576",
      "16384, file-encrypted, 65536, 0",
      "4096, cluster-encrypted, 65536, 0",
  })
  void randomOperationsMatchModel(int blockSize, String store, long dirty, long cache) {
    long seed = Long.getLong("torus.seed", System.nanoTime());
    System.out.printf("VolumeModelTest seed %d (block %d, %s)%n", seed, blockSize, store);
    int blocks = blockSize >= 1 << 20 ? 10 : 40;
    int size = blockSize * blocks + 512 * 3; // not a multiple of the block size
    byte[] model = new byte[size];
    KeyProvider kek = store.endsWith("-encrypted") ? KeyProviders.ofKey(new byte[32]) : null;
    TorusBuilder b = Torus.builder().dirtyBytes(dirty).cacheBytes(cache).ioThreads(4);
    if (kek != null) {
      b.keyProvider(kek);
    }
    if (store.startsWith("file")) {
      b.dataDirectory(dir).storeCapacity(64L << 20);
    }
    boolean clustered = store.startsWith("cluster");
    MiniCluster cluster = clustered ? MiniCluster.builder(dir).nodes(3)
        .configure(n -> {
          n.dirtyBytes(dirty).cacheBytes(cache);
          if (kek != null) {
            n.keyProvider(kek);
          }
        }).start() : null;
    try (MiniCluster closedLast = cluster; Torus torus = clustered ? cluster.node(0) : b.build()) {
      if (clustered) {
        closedLast.awaitRing(java.time.Duration.ofSeconds(20));
      }
      int ops = blockSize >= 1 << 20 ? 150 : clustered ? 1000 : 2500;
      runModel(torus, clustered ? closedLast.node(1) : null, blockSize, size,
          clustered ? 2 : 1, seed, ops, model, kek);
    }
    if (store.startsWith("file")) {
      TorusBuilder again = Torus.builder().dataDirectory(dir);
      if (kek != null) {
        again.keyProvider(kek);
      }
      try (Torus t = again.build(); BlockVolume v = t.openVolumeReadOnly("m")) {
        checkAll(v, model, "seed " + seed + " after node restart");
      }
    }
  }

  /** {@link #runModel(Torus, Torus, int, int, int, long, int, byte[], KeyProvider)}, plain. */
  static void runModel(Torus torus, Torus other, int blockSize, int size, int replication,
      long seed, int ops, byte[] model) {
    runModel(torus, other, blockSize, size, replication, seed, ops, model, null);
  }

  /**
   * Creates volume {@code m} on {@code torus} and runs {@code ops} random operations on it
   * against {@code model} (filled in as it goes). With {@code other} (another node of the
   * cluster), some operations open the volume read-only there while it is open for writing
   * and check that it shows exactly what was flushed. With {@code kek}, the volume is
   * encrypted with it.
   */
  static void runModel(Torus torus, Torus other, int blockSize, int size, int replication,
      long seed, int ops, byte[] model, KeyProvider kek) {
    Random rnd = new Random(seed);
    byte[] flushed = model.clone();
    VolumeSpec.Builder spec = VolumeSpec.builder("m", size).blockSize(blockSize)
        .replication(replication);
    torus.createVolume((kek == null ? spec : spec.encryption(kek)).build());
    BlockVolume v = torus.openVolume("m");
    for (int op = 0; op < ops; op++) {
      int kind = rnd.nextInt(100);
      long off = rnd.nextInt(size);
      int maxLen = (int) Math.min(size - off, 3L * blockSize);
      int len = rnd.nextInt(maxLen + 1);
      if (blockSize > 4096 && rnd.nextBoolean()) { // 4 KiB sectors: partial-block tracking
        off &= ~4095L;
        len &= ~4095;
      }
      String ctx = "seed " + seed + " op " + op;
      if (kind < 40) {
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        v.write(off, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, (int) off, len);
      } else if (kind < 70) {
        ByteBuffer dst = ByteBuffer.allocate(len);
        v.read(off, dst);
        assertThat(dst.position()).isEqualTo(len);
        assertThat(dst.array()).as(ctx).isEqualTo(Arrays.copyOfRange(model, (int) off,
            (int) off + len));
      } else if (kind < 77) {
        v.trim(off, len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
      } else if (kind < 84) {
        v.writeZeroes(off, len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
      } else if (kind < 91) {
        v.flush();
        System.arraycopy(model, 0, flushed, 0, model.length);
      } else if (kind < 95) {
        checkExtents(v, model, off, len, ctx);
      } else if (other != null && kind < 97) {
        try (BlockVolume ro = other.openVolumeReadOnly("m")) {
          checkAll(ro, flushed, ctx + " read-only elsewhere");
        }
      } else {
        v.close();
        System.arraycopy(model, 0, flushed, 0, model.length);
        v = rnd.nextBoolean() ? torus.openVolume("m") : reopenCheckingReadOnly(torus, model);
      }
    }
    checkAll(v, model, "seed " + seed + " end");
    v.close();
  }

  private static BlockVolume reopenCheckingReadOnly(Torus torus, byte[] model) {
    try (BlockVolume ro = torus.openVolumeReadOnly("m")) {
      checkAll(ro, model, "read-only");
    }
    return torus.openVolume("m");
  }

  private static void checkAll(BlockVolume v, byte[] model, String ctx) {
    ByteBuffer all = ByteBuffer.allocate(model.length);
    v.read(0, all);
    assertThat(all.array()).as(ctx).isEqualTo(model);
    checkExtents(v, model, 0, model.length, ctx);
  }

  private static void checkExtents(BlockVolume v, byte[] model, long off, int len, String ctx) {
    List<Extent> extents = v.extents(off, len);
    long at = off;
    for (Extent e : extents) {
      assertThat(e.offset()).as(ctx).isEqualTo(at);
      assertThat(e.length()).as(ctx).isPositive();
      if (e.hole()) {
        for (long i = e.offset(); i < e.offset() + e.length(); i++) {
          assertThat(model[(int) i]).as("%s: hole byte %d", ctx, i).isZero();
        }
      }
      at += e.length();
    }
    assertThat(at).as(ctx).isEqualTo(off + len);
  }
}
