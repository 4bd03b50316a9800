package io.torus.benchmarks;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Put and get throughput of the built-in block stores, per backend and block size.
 *
 * <p>{@code put} writes a new ref each call and deletes the ref written {@link #WINDOW} calls
 * earlier, flushing every {@link #WINDOW} puts, so the store never fills and the cost of the
 * flush barrier is included (amortized). {@code get} reads random refs of a preloaded set and
 * verifies their CRC32C (the store does). The file store runs in a temp directory, in the
 * page cache; numbers are not device speed. Each store is behind the checks a node puts
 * in front of every store opened through {@code BlockStores} (size and CRC32C of each put).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class StoreBenchmark {
  static final int WINDOW = 64;
  static final int PRELOADED = 64;

  @Param({"memory", "file"})
  public String backend;

  @Param({"4096", "65536", "1048576"})
  public int blockSize;

  private Path dir;
  private BlockStore store;
  private ByteBuffer data;
  private int crc;
  private final AtomicInteger next = new AtomicInteger(PRELOADED);

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("torus-store-bench");
    long capacity = (long) (PRELOADED + 3 * WINDOW) * (blockSize + 8192) + (16L << 20);
    store = BlockStores.open(backend, new StoreConfig(dir, capacity, Map.of()));
    byte[] b = new byte[blockSize];
    ThreadLocalRandom.current().nextBytes(b);
    data = ByteBuffer.wrap(b);
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(b);
    crc = (int) c.getValue();
    for (int i = 0; i < PRELOADED; i++) {
      store.put(ref(i), data, crc);
    }
    store.flush();
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(1, 1, seq, BlockKind.DATA);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    TempDirs.delete(dir);
  }

  @Benchmark
  public void put() {
    int seq = next.getAndIncrement();
    store.put(ref(seq), data, crc);
    if (seq - WINDOW >= PRELOADED) {
      store.delete(ref(seq - WINDOW));
    }
    if (seq % WINDOW == 0) {
      store.flush();
    }
  }

  @Benchmark
  public ByteBuffer get() {
    return store.get(ref(ThreadLocalRandom.current().nextInt(PRELOADED)));
  }
}
