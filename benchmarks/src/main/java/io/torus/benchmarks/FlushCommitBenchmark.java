package io.torus.benchmarks;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A database's commit on a single node with a data directory: one 4 KiB write at a random
 * offset, then {@code flush()}, which commits the volume's head in the node's local metadata
 * (persisted in the data directory). Measured for one writer and for four writers on four
 * volumes at once (their head commits may share one {@code fsync}). With the {@code memory}
 * store the flush costs little more than the metadata commit; with {@code file} the store's
 * own index force comes on top. The directory is under {@code java.io.tmpdir} (set
 * {@code -Djava.io.tmpdir} to measure another disk).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FlushCommitBenchmark {
  private static final int VOLUMES = 4;
  private static final int BLOCK = 4096;
  private static final long SIZE = 64L << 20;

  @Param({"memory", "file"})
  public String storeType;

  private Path dir;
  private Torus torus;
  private final AtomicInteger nextVolume = new AtomicInteger();

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("torus-flush-bench");
    torus = Torus.builder().dataDirectory(dir).storeType(storeType).storeCapacity(1L << 30)
        .build();
    for (int i = 0; i < VOLUMES; i++) {
      torus.createVolume(VolumeSpec.builder("v" + i, SIZE).blockSize(BLOCK).replication(1)
          .build());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    torus.close();
    TempDirs.delete(dir);
  }

  /** One writer's open volume and block. */
  @State(Scope.Thread)
  public static class Writer {
    BlockVolume volume;
    final ByteBuffer block = ByteBuffer.allocate(BLOCK);

    @Setup(Level.Trial)
    public void setUp(FlushCommitBenchmark b) {
      ThreadLocalRandom.current().nextBytes(block.array());
      volume = b.torus.openVolume("v" + b.nextVolume.getAndIncrement() % VOLUMES);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      volume.close();
    }

    void commit() {
      long at = ThreadLocalRandom.current().nextLong(SIZE / BLOCK) * BLOCK;
      volume.write(at, block.clear());
      volume.flush();
    }
  }

  @Benchmark
  @Threads(1)
  public void writeFlushOneWriter(Writer w) {
    w.commit();
  }

  @Benchmark
  @Threads(VOLUMES)
  public void writeFlushFourWriters(Writer w) {
    w.commit();
  }
}
