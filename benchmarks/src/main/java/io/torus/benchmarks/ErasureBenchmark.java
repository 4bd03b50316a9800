package io.torus.benchmarks;

import io.torus.internal.erasure.ReedSolomon;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Reed–Solomon coder on one thread: {@code encode} (k data shards to m parity shards),
 * {@code decode} with the first m data shards lost (rebuilt from the remaining data and all
 * parity), and {@code copy}, a plain {@link System#arraycopy} of the same k shards, in the same
 * run as the ceiling of memory bandwidth.
 *
 * <p>Each operation covers one stripe: k × {@link #shardSize} bytes of data. Beside ops/s,
 * JMH reports {@code bytes}, the data bytes per second (the secondary result of the
 * {@link Bytes} counter): the figure the goals are stated in (encode ≥ 1 GB/s per core for
 * 6+3, decode with m shards lost ≥ 0.5 GB/s).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ErasureBenchmark {
  /** {@code k+m}. */
  @Param({"4+2", "6+3", "10+4"})
  public String code;

  /** Bytes per shard. */
  @Param({"16384", "1048576"})
  public int shardSize;

  private ReedSolomon rs;
  private byte[][] shards;
  private byte[][] data;
  private byte[][] parity;
  private byte[][] copies;
  private boolean[] present;
  private long stripeBytes;

  /** Data bytes coded, reported by JMH as a rate. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Bytes {
    public long bytes;

    @Setup(Level.Iteration)
    public void reset() {
      bytes = 0;
    }
  }

  @Setup(Level.Trial)
  public void setUp() {
    String[] km = code.split("\\+");
    int k = Integer.parseInt(km[0]);
    int m = Integer.parseInt(km[1]);
    rs = ReedSolomon.of(k, m);
    SplittableRandom rnd = new SplittableRandom(14);
    shards = new byte[k + m][shardSize];
    copies = new byte[k][shardSize];
    for (int j = 0; j < k; j++) {
      for (int t = 0; t < shardSize; t++) {
        shards[j][t] = (byte) rnd.nextInt(256);
      }
    }
    data = new byte[k][];
    System.arraycopy(shards, 0, data, 0, k);
    parity = new byte[m][];
    System.arraycopy(shards, k, parity, 0, m);
    rs.encode(data, parity, 0, shardSize);
    present = new boolean[k + m];
    for (int i = m; i < k + m; i++) {
      present[i] = true;
    }
    stripeBytes = (long) k * shardSize;
  }

  @Benchmark
  public byte[][] encode(Bytes counter) {
    rs.encode(data, parity, 0, shardSize);
    counter.bytes += stripeBytes;
    return parity;
  }

  @Benchmark
  public byte[][] decode(Bytes counter) {
    rs.decode(shards, present, 0, shardSize);
    counter.bytes += stripeBytes;
    return shards;
  }

  @Benchmark
  public byte[][] copy(Bytes counter) {
    for (int j = 0; j < data.length; j++) {
      System.arraycopy(data[j], 0, copies[j], 0, shardSize);
    }
    counter.bytes += stripeBytes;
    return copies;
  }
}
