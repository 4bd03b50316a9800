package io.torus.internal.gc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockRef;
import io.torus.BlockVolume;
import io.torus.ErrorCode;
import io.torus.GcResult;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.spi.BlockStore;
import io.torus.spi.Head;
import io.torus.spi.MetadataService;
import io.torus.spi.StoreConfig;
import io.torus.spi.VolumeLock;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class GarbageCollectionTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 64L * BLOCK;

  private final BlockStore store = io.torus.spi.BlockStores.open("memory",
      new StoreConfig(null, 512L << 20, Map.of()));

  private long storedBlocks() {
    long[] n = {0};
    for (long v = 1; v <= 10; v++) {
      store.forEach(v, r -> n[0]++);
    }
    return n[0];
  }

  private Torus node(MetadataService meta) {
    return Torus.builder().addStore(store).metadata(meta).gcInterval(Duration.ZERO)
        .dirtyBytes(8 * BLOCK).build();
  }

  private static void fill(BlockVolume v, Random rnd, byte[] model) {
    byte[] data = new byte[BLOCK * 3];
    for (int i = 0; i < 40; i++) {
      rnd.nextBytes(data);
      long off = (long) rnd.nextInt((int) (SIZE - data.length));
      v.write(off, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, (int) off, data.length);
    }
  }

  private static void check(BlockVolume v, byte[] model) {
    ByteBuffer all = ByteBuffer.allocate(model.length);
    v.read(0, all);
    assertThat(all.array()).isEqualTo(model);
  }

  @Test
  void overwritingKeepsUsedSpaceBoundedAndDataIntact() {
    Random rnd = new Random(1);
    byte[] model = new byte[(int) SIZE];
    try (Torus t = node(LocalMetadataService.inMemory())) {
      t.createVolume(VolumeSpec.builder("v", SIZE).blockSize(BLOCK).replication(1).build());
      try (BlockVolume v = t.openVolume("v")) {
        for (int round = 0; round < 20; round++) {
          fill(v, rnd, model);
          v.flush();
        }
        long before = storedBlocks();
        GcResult r = t.collectGarbage();
        // bound: what is left is exactly what the head reaches, at most every block of the
        // volume plus the map nodes on top of them
        assertThat(storedBlocks()).isEqualTo(r.liveBlocks()).isEqualTo(before - r.deletedBlocks());
        assertThat(r.liveBlocks()).isLessThanOrEqualTo(SIZE / BLOCK + 2);
        assertThat(r.deletedBlocks()).isPositive();
        check(v, model);
      }
      try (BlockVolume v = t.openVolumeReadOnly("v")) {
        check(v, model);
      }
    }
  }

  @Test
  void pendingBlocksOfAWriterAndOpenReadOnlyHeadsSurvive() {
    Random rnd = new Random(2);
    byte[] first = new byte[(int) SIZE];
    try (Torus t = node(LocalMetadataService.inMemory())) {
      t.createVolume(VolumeSpec.builder("v", SIZE).blockSize(BLOCK).replication(1).build());
      BlockVolume w = t.openVolume("v");
      fill(w, rnd, first);
      w.flush();
      BlockVolume ro = t.openVolumeReadOnly("v");
      byte[] second = first.clone();
      fill(w, rnd, second); // more than the dirty limit: written out early, not committed
      t.collectGarbage();
      w.flush();
      t.collectGarbage();
      check(ro, first);
      check(w, second);
      ro.close();
      w.close();
    }
  }

  @Test
  void writingWithoutFlushingDoesNotFillTheStores() throws InterruptedException {
    Random rnd = new Random(5);
    byte[] model = new byte[(int) SIZE];
    try (Torus t = node(LocalMetadataService.inMemory())) {
      t.createVolume(VolumeSpec.builder("v", SIZE).blockSize(BLOCK).replication(1).build());
      try (BlockVolume v = t.openVolume("v")) {
        for (int round = 0; round < 30; round++) {
          fill(v, rnd, model); // 8 times the dirty limit each round, never flushed
        }
        // blocks written out early and then overwritten are deleted in the background, a
        // bounded queue behind the writers: the store soon holds at most one written-out copy
        // per block of the volume
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (storedBlocks() > SIZE / BLOCK && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        assertThat(storedBlocks()).isLessThanOrEqualTo(SIZE / BLOCK);
        check(v, model);
        v.flush();
        check(v, model);
      }
    }
  }

  @Test
  void deletingAVolumeReturnsItsSpace() {
    try (Torus t = node(LocalMetadataService.inMemory())) {
      t.createVolume(VolumeSpec.builder("gone", SIZE).blockSize(BLOCK).replication(1).build());
      t.createVolume(VolumeSpec.builder("kept", SIZE).blockSize(BLOCK).replication(1).build());
      byte[] kept = new byte[(int) SIZE];
      try (BlockVolume a = t.openVolume("gone"); BlockVolume b = t.openVolume("kept")) {
        fill(a, new Random(3), new byte[(int) SIZE]);
        fill(b, new Random(4), kept);
      }
      long keptBlocks = t.collectGarbage().liveBlocks();
      t.deleteVolume("gone");
      GcResult r = t.collectGarbage();
      assertThat(r.deletedBlocks()).isPositive();
      long[] goneLeft = {0};
      store.forEach(1, ref -> goneLeft[0]++);
      assertThat(goneLeft[0]).as("blocks of the deleted volume (id 1)").isZero();
      assertThat(storedBlocks()).isLessThan(keptBlocks);
      try (BlockVolume b = t.openVolumeReadOnly("kept")) {
        check(b, kept);
      }
    }
  }

  @Test
  void unreadableMetadataDeletesNothing() {
    AtomicBoolean broken = new AtomicBoolean();
    MetadataService meta = new FlakyMetadata(LocalMetadataService.inMemory(), broken);
    try (Torus t = node(meta)) {
      for (String name : List.of("a", "b")) {
        t.createVolume(VolumeSpec.builder(name, SIZE).blockSize(BLOCK).replication(1).build());
        try (BlockVolume v = t.openVolume(name)) {
          for (int i = 0; i < 5; i++) {
            fill(v, new Random(i), new byte[(int) SIZE]);
            v.flush();
          }
        }
      }
      t.deleteVolume("a");
      List<BlockRef> before = new ArrayList<>();
      for (long v = 1; v <= 2; v++) {
        store.forEach(v, before::add);
      }
      broken.set(true);
      assertThatThrownBy(t::collectGarbage).isInstanceOf(TorusException.class)
          .hasMessageContaining("metadata unavailable");
      for (BlockRef ref : before) {
        assertThat(store.contains(ref)).as("%s kept", ref).isTrue();
      }
      broken.set(false);
      assertThat(t.collectGarbage().deletedBlocks()).isPositive();
    }
  }

  /** Metadata that fails reading heads while {@code broken} is set. */
  private static final class FlakyMetadata implements MetadataService {
    private final MetadataService d;
    private final AtomicBoolean broken;

    FlakyMetadata(MetadataService d, AtomicBoolean broken) {
      this.d = d;
      this.broken = broken;
    }

    @Override
    public VolumeInfo createVolume(VolumeSpec spec) {
      return d.createVolume(spec);
    }

    @Override
    public Optional<VolumeInfo> volume(String name) {
      return d.volume(name);
    }

    @Override
    public List<VolumeInfo> volumes() {
      return d.volumes();
    }

    @Override
    public VolumeInfo resizeVolume(String name, long newSize) {
      return d.resizeVolume(name, newSize);
    }

    @Override
    public void deleteVolume(String name) {
      d.deleteVolume(name);
    }

    @Override
    public Head head(long volumeId) {
      if (broken.get()) {
        throw new TorusException(ErrorCode.EIO, "metadata unavailable (test)");
      }
      return d.head(volumeId);
    }

    @Override
    public VolumeLock lockVolume(long volumeId, String holder) {
      return d.lockVolume(volumeId, holder);
    }

    @Override
    public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
      return d.commitHead(lock, expected, root, generation);
    }

    @Override
    public void unlock(VolumeLock lock) {
      d.unlock(lock);
    }

    @Override
    public void close() {
      d.close();
    }
  }
}
