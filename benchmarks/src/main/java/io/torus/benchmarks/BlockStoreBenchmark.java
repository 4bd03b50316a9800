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
import java.util.zip.CRC32C;
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
import org.openjdk.jmh.annotations.Threads;

/**
 * The 4 KiB data path of one block store, on one and two threads: {@code put}, {@code get}
 * and {@code put} followed by {@code flush} (a write with FUA at queue depth 1).
 *
 * <p>Each thread writes its own refs. A put stores a new ref and deletes the one it wrote
 * {@link #WINDOW} puts earlier, so the store keeps a steady size; {@code put} flushes every
 * {@link #WINDOW} puts (so deleted space of the file store is freed; amortized), and
 * {@code putFlush} flushes after every put. {@code get} reads a random ref of the
 * {@link #preloaded} ones stored at setup (by default 262 144: a 1 GiB volume of 4 KiB blocks,
 * so lookups miss the CPU caches as they do on a full store); the store verifies its CRC32C.
 * {@code crc} is the cost of that check alone (CRC32C of 4 KiB), to compare with
 * {@code get}.
 *
 * <p>The store is opened through {@link BlockStores}, so it is behind the checks a node puts
 * in front of every store (each put's CRC32C is verified once more). The file store lives in
 * a directory under {@code java.io.tmpdir}; its flushes are real {@code fsync}s of that
 * disk, its reads come from the page cache.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class BlockStoreBenchmark {
  static final int BLOCK = 4096;
  static final int WINDOW = 64;
  /** Writer threads get disjoint generations, so their refs never collide. */
  private static final long PRELOAD_GENERATION = 1;

  @Param({"memory", "file"})
  public String backend;

  /** Refs stored at setup, read by {@code get}. */
  @Param({"262144"})
  public int preloaded;

  private Path dir;
  private BlockStore store;
  private ByteBuffer data;
  private int crc;
  private final AtomicInteger writers = new AtomicInteger();

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("torus-blockstore-bench");
    long capacity = (long) preloaded * 2 * 4096 + (256L << 20); // file: 2 units per block
    store = BlockStores.open(backend, new StoreConfig(dir, capacity, Map.of()));
    byte[] b = new byte[BLOCK];
    ThreadLocalRandom.current().nextBytes(b);
    data = ByteBuffer.wrap(b);
    crc = crc32c(data);
    for (int i = 0; i < preloaded; i++) {
      store.put(new BlockRef(1, PRELOAD_GENERATION, i, BlockKind.DATA), data, crc);
    }
    store.flush();
  }

  private static int crc32c(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return (int) c.getValue();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    TempDirs.delete(dir);
  }

  /** One writing thread: its own generation of refs and its sequence. */
  @State(Scope.Thread)
  public static class Writer {
    long generation;
    int seq;

    @Setup(Level.Trial)
    public void setUp(BlockStoreBenchmark b) {
      generation = PRELOAD_GENERATION + 1 + b.writers.getAndIncrement();
    }

    /** Puts the next ref and deletes the one {@link #WINDOW} puts back; returns the seq. */
    int putNext(BlockStoreBenchmark b) {
      int s = seq++;
      b.store.put(new BlockRef(1, generation, s, BlockKind.DATA), b.data, b.crc);
      if (s >= WINDOW) {
        b.store.delete(new BlockRef(1, generation, s - WINDOW, BlockKind.DATA));
      }
      return s;
    }
  }

  private void putOnly(Writer w) {
    if (w.putNext(this) % WINDOW == WINDOW - 1) {
      store.flush();
    }
  }

  private void putFlush(Writer w) {
    w.putNext(this);
    store.flush();
  }

  private ByteBuffer getOne() {
    int seq = ThreadLocalRandom.current().nextInt(preloaded);
    return store.get(new BlockRef(1, PRELOAD_GENERATION, seq, BlockKind.DATA));
  }

  @Benchmark
  @Threads(1)
  public void put1(Writer w) {
    putOnly(w);
  }

  @Benchmark
  @Threads(2)
  public void put2(Writer w) {
    putOnly(w);
  }

  @Benchmark
  @Threads(1)
  public ByteBuffer get1() {
    return getOne();
  }

  @Benchmark
  @Threads(2)
  public ByteBuffer get2() {
    return getOne();
  }

  @Benchmark
  @Threads(1)
  public void putFlush1(Writer w) {
    putFlush(w);
  }

  @Benchmark
  @Threads(2)
  public void putFlush2(Writer w) {
    putFlush(w);
  }

  @Benchmark
  @Threads(1)
  public int crc() {
    return crc32c(data);
  }
}
