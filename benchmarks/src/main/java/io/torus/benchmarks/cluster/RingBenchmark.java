package io.torus.benchmarks.cluster;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ketama ring lookup (first R=2 peers of a ref) at 10, 100 and 1000 equally weighted peers.
 * Goal: at most 1 µs per lookup at 1000 peers. Refs cycle through 4096 random ones.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RingBenchmark {
  @Param({"10", "100", "1000"})
  public int peers;

  private Ring ring;
  private BlockRef[] refs;
  private int next;

  @Setup
  public void setup() {
    List<RingPeer> members = new ArrayList<>();
    for (int i = 0; i < peers; i++) {
      members.add(new RingPeer("peer-" + i, 1L << 40));
    }
    ring = new KetamaRing(1, members);
    SplittableRandom rnd = new SplittableRandom(1);
    refs = new BlockRef[4096];
    for (int i = 0; i < refs.length; i++) {
      refs[i] = new BlockRef(rnd.nextLong(1, 1000), rnd.nextLong(1, 1 << 20),
          rnd.nextInt(1 << 20), BlockKind.DATA);
    }
  }

  @Benchmark
  public List<String> lookup() {
    next = (next + 1) & (refs.length - 1);
    return ring.peers(refs[next], 2);
  }
}
