package io.torus.benchmarks;

import io.torus.BlockVolume;
import io.torus.KeyProviders;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import io.torus.spi.KeyProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
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
 * Volume I/O through the public API on one node: sequential 1 MiB and random 4 KiB reads and
 * writes, per store and block size. Writes flush every 64 MiB, so the figures include making
 * data durable. A fresh node per iteration keeps unreclaimed blocks from piling up.
 *
 * <p>{@code -p encrypted=false,true} compares an encrypted volume with a plain one in the same
 * run (AES-256-GCM on the node, see {@code src-docs/benchmarks.md}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx6g"})
public class VolumeBenchmark {
  private static final long SIZE = 1L << 30;
  private static final int MIB = 1 << 20;

  @Param({"memory", "file"})
  public String store;

  @Param({"4096", "65536", "1048576"})
  public int blockSize;

  @Param({"false"})
  public boolean encrypted;

  private Path dir;
  private Torus torus;
  private BlockVolume volume;
  private long seqOffset;
  private long sinceFlush;
  private final ByteBuffer mib = ByteBuffer.allocate(MIB);
  private final ByteBuffer small = ByteBuffer.allocate(4096);

  @Setup(Level.Iteration)
  public void setUp() throws IOException {
    ThreadLocalRandom.current().nextBytes(mib.array());
    ThreadLocalRandom.current().nextBytes(small.array());
    TorusBuilder b = Torus.builder();
    if (store.equals("file")) {
      dir = Files.createTempDirectory("torus-bench");
      b.dataDirectory(dir).storeCapacity(12L << 30);
    } else {
      b.storeCapacity(5L << 30);
    }
    KeyProvider kek = KeyProviders.ofKey(new byte[32]);
    torus = b.keyProvider(kek).build();
    VolumeSpec.Builder spec = VolumeSpec.builder("bench", SIZE).blockSize(blockSize)
        .replication(1);
    torus.createVolume((encrypted ? spec.encryption(kek) : spec).build());
    volume = torus.openVolume("bench");
    for (long off = 0; off < 256L * MIB; off += MIB) { // something to read
      volume.write(off, mib.clear());
    }
    volume.flush();
    seqOffset = 0;
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws IOException {
    torus.close();
    TempDirs.delete(dir);
  }

  private void flushEvery64MiB(int bytes) {
    sinceFlush += bytes;
    if (sinceFlush >= 64L * MIB) {
      volume.flush();
      sinceFlush = 0;
    }
  }

  @Benchmark
  public void sequentialWrite1MiB() {
    volume.write(seqOffset, mib.clear());
    seqOffset = (seqOffset + MIB) % (512L * MIB);
    flushEvery64MiB(MIB);
  }

  @Benchmark
  public ByteBuffer sequentialRead1MiB() {
    volume.read(seqOffset, mib.clear());
    seqOffset = (seqOffset + MIB) % (256L * MIB);
    return mib;
  }

  @Benchmark
  public void randomWrite4KiB() {
    long off = ThreadLocalRandom.current().nextLong(256L * MIB / 4096) * 4096;
    volume.write(off, small.clear());
    flushEvery64MiB(4096);
  }

  @Benchmark
  public ByteBuffer randomRead4KiB() {
    long off = ThreadLocalRandom.current().nextLong(256L * MIB / 4096) * 4096;
    volume.read(off, small.clear());
    return small;
  }
}
