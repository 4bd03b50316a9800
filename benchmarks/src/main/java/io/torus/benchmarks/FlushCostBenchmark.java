package io.torus.benchmarks;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one flush of the same dirty set (64 blocks at random offsets over the whole
 * volume, 64 KiB blocks) on a 1 GiB and on a 1 TiB thin volume. The volume's size must not
 * matter: a flush writes the dirty blocks and the map nodes on their paths only.
 * Each volume first gets 4096 random blocks committed so its map is not empty.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 50)
@Measurement(iterations = 200)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class FlushCostBenchmark {
  private static final int BLOCK = 64 * 1024;

  @Param({"1073741824", "1099511627776"})
  public long volumeSize;

  private Torus torus;
  private BlockVolume volume;
  private final Random rnd = new Random(42);
  private final ByteBuffer block = ByteBuffer.allocate(BLOCK);

  @Setup(Level.Trial)
  public void setUp() {
    rnd.nextBytes(block.array());
    torus = Torus.builder().storeCapacity(3L << 30).build();
    torus.createVolume(VolumeSpec.builder("flush", volumeSize).blockSize(BLOCK)
        .replication(1).build());
    volume = torus.openVolume("flush");
    dirty(4096);
    volume.flush();
  }

  private void dirty(int blocks) {
    long count = volumeSize / BLOCK;
    for (int i = 0; i < blocks; i++) {
      volume.write((long) (rnd.nextDouble() * count) * BLOCK, block.clear());
    }
  }

  @Setup(Level.Iteration)
  public void makeDirty() {
    dirty(64);
  }

  @Benchmark
  public void flush64RandomBlocks() {
    volume.flush();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    torus.close();
  }
}
