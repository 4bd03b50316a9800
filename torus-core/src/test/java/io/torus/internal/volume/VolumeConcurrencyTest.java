package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Writers on disjoint and overlapping ranges, readers and a flusher at once, through the
 * blocking calls and through the async ones (which try each read and write on the caller's
 * thread first and fall back to the executor when a lock is taken or a block is not in
 * memory), on a memory store and on a file store. Every write
 * fills whole 4 KiB sectors with one 8-byte token, so a sector holding two tokens (or a token
 * and zeros) is a torn read. Each writer owns a region it alone writes, so its final content
 * is known exactly; a shared region is written by all and checked for tearing only.
 */
class VolumeConcurrencyTest {
  private static final int SECTOR = 4096;
  private static final int WRITERS = 4;
  private static final int OWN_SECTORS = 96;
  private static final int SHARED_SECTORS = 64;

  @ParameterizedTest(name = "{0} calls, {1} store")
  @CsvSource({"blocking, memory", "async, memory", "async, file"})
  void concurrentWritesReadsAndFlushes(String calls, String store, @TempDir Path dir)
      throws Exception {
    long seed = System.nanoTime();
    System.out.println("VolumeConcurrencyTest seed " + seed + " (" + calls + ", " + store + ")");
    boolean async = calls.equals("async");
    int sectors = WRITERS * OWN_SECTORS + SHARED_SECTORS;
    long size = (long) sectors * SECTOR;
    long[][] owned = new long[WRITERS][OWN_SECTORS]; // last token per owned sector
    ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 3);
    TorusBuilder builder = Torus.builder().dirtyBytes(256 * 1024).cacheBytes(1 << 20);
    if (store.equals("file")) {
      builder.dataDirectory(dir).storeCapacity(64L << 20);
    }
    try (Torus torus = builder.build()) {
      torus.createVolume(VolumeSpec.builder("c", size).blockSize(16384).replication(1).build());
      BlockVolume v = torus.openVolume("c");
      AtomicBoolean stop = new AtomicBoolean();
      List<Future<?>> tasks = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int id = w;
        tasks.add(pool.submit(() -> {
          Random rnd = new Random(seed + id);
          for (int i = 1; i <= 600; i++) {
            long token = ((long) (id + 1) << 32) | i;
            boolean shared = rnd.nextInt(3) == 0;
            int first = shared ? WRITERS * OWN_SECTORS + rnd.nextInt(SHARED_SECTORS)
                : id * OWN_SECTORS + rnd.nextInt(OWN_SECTORS);
            int limit = shared ? sectors : (id + 1) * OWN_SECTORS;
            int count = 1 + rnd.nextInt(Math.min(9, limit - first));
            if (async) {
              v.writeAsync((long) first * SECTOR, fill(count, token)).join();
            } else {
              v.write((long) first * SECTOR, fill(count, token));
            }
            if (!shared) {
              for (int s = first; s < first + count; s++) {
                owned[id][s - id * OWN_SECTORS] = token;
              }
            }
          }
          return null;
        }));
      }
      for (int r = 0; r < 2; r++) {
        int id = r;
        tasks.add(pool.submit(() -> {
          Random rnd = new Random(seed - id);
          while (!stop.get()) {
            int first = rnd.nextInt(sectors);
            int count = 1 + rnd.nextInt(Math.min(16, sectors - first));
            ByteBuffer dst = ByteBuffer.allocate(count * SECTOR);
            if (async) {
              v.readAsync((long) first * SECTOR, dst).join();
            } else {
              v.read((long) first * SECTOR, dst);
            }
            for (int s = 0; s < count; s++) {
              assertUniform(dst, s * SECTOR, "seed " + seed + " sector " + (first + s));
            }
          }
          return null;
        }));
      }
      tasks.add(pool.submit(() -> {
        while (!stop.get()) {
          if (async) {
            v.flushAsync().join();
          } else {
            v.flush();
          }
          Thread.sleep(2);
        }
        return null;
      }));
      for (int w = 0; w < WRITERS; w++) {
        tasks.get(w).get(60, TimeUnit.SECONDS);
      }
      stop.set(true);
      for (Future<?> t : tasks) {
        t.get(60, TimeUnit.SECONDS);
      }
      checkFinal(v, owned, sectors, seed);
      v.close();
      try (BlockVolume again = torus.openVolumeReadOnly("c")) {
        checkFinal(again, owned, sectors, seed);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void inMemoryReadsAndWritesCompleteOnTheCallersThread() {
    try (Torus torus = Torus.builder().build()) {
      torus.createVolume(VolumeSpec.builder("m", 1 << 20).replication(1).build());
      try (BlockVolume v = torus.openVolume("m")) {
        CompletableFuture<Void> w = v.writeAsync(8192, fill(2, 42));
        assertThat(w).as("a write with room in the buffer is done at once").isDone();
        w.join();
        ByteBuffer dst = ByteBuffer.allocate(3 * SECTOR);
        CompletableFuture<Void> r = v.readAsync(4096, dst);
        assertThat(r).as("a read of in-memory blocks is done at once").isDone();
        r.join();
        assertThat(dst.getLong(0)).isZero();
        assertThat(dst.getLong(SECTOR)).isEqualTo(42);
        assertThat(dst.getLong(2 * SECTOR + 4088)).isEqualTo(42);
        v.flush();
        ByteBuffer again = ByteBuffer.allocate(SECTOR);
        assertThat(v.readAsync(8192, again)).isDone();
        assertThat(again.getLong(0)).as("after the flush, from the memory store").isEqualTo(42);
        ByteBuffer big = ByteBuffer.allocate(VolumeEngine.INLINE_MAX + SECTOR);
        v.readAsync(0, big).join(); // past INLINE_MAX: on the executor, same bytes
        assertThat(big.getLong(8192)).isEqualTo(42);
      }
    }
  }

  private static ByteBuffer fill(int count, long token) {
    ByteBuffer b = ByteBuffer.allocate(count * SECTOR);
    while (b.hasRemaining()) {
      b.putLong(token);
    }
    return b.flip();
  }

  private static void assertUniform(ByteBuffer b, int at, String ctx) {
    long token = b.getLong(at);
    for (int i = 8; i < SECTOR; i += 8) {
      if (b.getLong(at + i) != token) {
        throw new AssertionError(ctx + ": torn sector, token " + Long.toHexString(token)
            + " then " + Long.toHexString(b.getLong(at + i)) + " at byte " + i);
      }
    }
  }

  private static void checkFinal(BlockVolume v, long[][] owned, int sectors, long seed) {
    ByteBuffer all = ByteBuffer.allocate(sectors * SECTOR);
    v.read(0, all);
    for (int s = 0; s < sectors; s++) {
      assertUniform(all, s * SECTOR, "seed " + seed + " final sector " + s);
    }
    for (int w = 0; w < WRITERS; w++) {
      for (int s = 0; s < OWN_SECTORS; s++) {
        long sector = (long) w * OWN_SECTORS + s;
        assertThat(all.getLong((int) (sector * SECTOR))).as("seed %d sector %d", seed, sector)
            .isEqualTo(owned[w][s]);
      }
    }
  }
}
