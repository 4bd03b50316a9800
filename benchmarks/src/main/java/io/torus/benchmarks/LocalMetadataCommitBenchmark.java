package io.torus.benchmarks;

import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.meta.local.LocalMetadataService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Head commits per second of the persisted local metadata service (what every flush of a
 * volume on a single node pays), for one committer and for four committers on four volumes
 * at once. Each thread holds the writer lock of its own volume and commits the next
 * generation in a loop; every commit is durable when it returns. The directory is under
 * {@code java.io.tmpdir} (set {@code -Djava.io.tmpdir} to measure another disk).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LocalMetadataCommitBenchmark {
  private static final int VOLUMES = 4;

  private Path dir;
  private LocalMetadataService meta;
  private final long[] ids = new long[VOLUMES];
  private final AtomicInteger nextVolume = new AtomicInteger();

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("torus-meta-bench");
    meta = LocalMetadataService.open(dir);
    for (int i = 0; i < VOLUMES; i++) {
      VolumeInfo v = meta.createVolume(VolumeSpec.builder("v" + i, 1 << 30).replication(1)
          .build());
      ids[i] = v.id();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    meta.close();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  /** One committer's volume, lock and current head. */
  @State(Scope.Thread)
  public static class Writer {
    VolumeLock lock;
    Head head;

    @Setup(Level.Trial)
    public void setUp(LocalMetadataCommitBenchmark b) {
      long id = b.ids[b.nextVolume.getAndIncrement() % VOLUMES];
      lock = b.meta.lockVolume(id, "bench-" + Thread.currentThread().getName());
      head = lock.head();
    }

    @TearDown(Level.Trial)
    public void tearDown(LocalMetadataCommitBenchmark b) {
      b.meta.unlock(lock);
    }

    Head commit(LocalMetadataService meta) {
      long gen = head.generation() + 1;
      head = meta.commitHead(lock, head, new BlockRef(lock.volumeId(), gen, 0, BlockKind.MAP),
          gen);
      return head;
    }
  }

  @Benchmark
  @Threads(1)
  public Head commitOneWriter(Writer w) {
    return w.commit(meta);
  }

  @Benchmark
  @Threads(VOLUMES)
  public Head commitFourWriters(Writer w) {
    return w.commit(meta);
  }
}
