package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeQos;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A volume with QoS limits on an in-process node stays within 10 % of them while an
 * unlimited volume of the same node, driven at the same time by as many threads, runs far
 * above them; writes and reads, blocking and asynchronous calls. Each phase measures for a
 * few seconds after a warm-up that drains the limited volume's burst; the rates are printed.
 * The burst is 100 ms: over a window T a volume may take up to {@code limit x (T + burst)}
 * (threads starved of CPU let the bucket fill), so a 1 s burst could pass 10 % over 3 s on a
 * busy machine; the burst itself is QosGateTest's.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class QosLimitTest {
  private static final int MIB = 1 << 20;
  private static final int THREADS = 4;
  private static final long WARM_UP_MS = 700;
  private static final long MEASURE_MS = 3_000;
  private static final long WRITE_IOPS = 400;
  private static final long READ_BYTES_PER_SECOND = 4L * MIB;
  private static final int IO = 4096;
  private static final int READ_IO = 16384;

  /** What one phase measured: operations and bytes per second of each volume. */
  record Rates(double limitedOps, double limitedBytes, double freeOps, double freeBytes) {}

  /** One request of a phase on {@code v} at a random block of the first 8 MiB. */
  private interface Op {
    void run(BlockVolume v, boolean async, long offset);
  }

  @Test
  void aLimitedVolumeKeepsToItsLimitsWhileAnUnlimitedOneIsUnaffected() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Torus t = Torus.builder().meterRegistry(registry).storeCapacity(512L * MIB).build()) {
      VolumeQos qos = VolumeQos.builder().writeIops(WRITE_IOPS)
          .readBytesPerSecond(READ_BYTES_PER_SECOND).burst(Duration.ofMillis(100)).build();
      t.createVolume(VolumeSpec.builder("limited", 64L * MIB).replication(1).qos(qos).build());
      t.createVolume(VolumeSpec.builder("free", 64L * MIB).replication(1).build());
      assertThat(t.volume("limited").qos()).isEqualTo(qos);
      try (BlockVolume limited = t.openVolume("limited"); BlockVolume free = t.openVolume("free")) {
        Rates w = phase(limited, free, IO, (v, async, off) -> {
          ByteBuffer b = ByteBuffer.allocate(IO);
          if (async) {
            v.writeAsync(off, b).join();
          } else {
            v.write(off, b);
          }
        });
        System.out.printf("QoS writes (limit %d IOPS): limited %.1f IOPS, unlimited %.1f IOPS%n",
            WRITE_IOPS, w.limitedOps(), w.freeOps());
        assertThat(w.limitedOps()).isBetween(0.9 * WRITE_IOPS, 1.1 * WRITE_IOPS);
        assertThat(w.freeOps()).isGreaterThan(5.0 * WRITE_IOPS);

        limited.flush();
        free.flush();
        Rates r = phase(limited, free, READ_IO, (v, async, off) -> {
          ByteBuffer b = ByteBuffer.allocate(READ_IO);
          if (async) {
            v.readAsync(off, b).join();
          } else {
            v.read(off, b);
          }
        });
        System.out.printf("QoS reads (limit %d B/s): limited %.0f B/s (%.1f IOPS), unlimited"
            + " %.0f B/s%n", READ_BYTES_PER_SECOND, r.limitedBytes(), r.limitedOps(),
            r.freeBytes());
        assertThat(r.limitedBytes()).isBetween(0.9 * READ_BYTES_PER_SECOND,
            1.1 * READ_BYTES_PER_SECOND);
        assertThat(r.freeBytes()).isGreaterThan(5.0 * READ_BYTES_PER_SECOND);

        // the limits and the time spent waiting are published per volume
        assertThat(registry.get("torus.volume.qos.limit").tag("volume", "limited")
            .tag("limit", "write-iops").gauge().value()).isEqualTo(WRITE_IOPS);
        assertThat(registry.get("torus.volume.qos.limit").tag("volume", "free")
            .tag("limit", "write-iops").gauge().value()).isZero();
        assertThat(registry.get("torus.volume.qos.wait").tag("volume", "limited")
            .tag("op", "write").timer().totalTime(TimeUnit.SECONDS)).isGreaterThan(1.0);
        assertThat(registry.get("torus.volume.qos.wait").tag("volume", "free")
            .tag("op", "read").timer().count()).isZero();

        // lifted at once for the open handle
        t.setVolumeQos("limited", VolumeQos.UNLIMITED);
        long start = System.nanoTime();
        for (int i = 0; i < 2_000; i++) {
          limited.write((long) (i % 2048) * IO, ByteBuffer.allocate(IO));
        }
        assertThat(System.nanoTime() - start).as("2000 writes without a limit")
            .isLessThan(TimeUnit.SECONDS.toNanos(2));
        assertThat(registry.get("torus.volume.qos.limit").tag("volume", "limited")
            .tag("limit", "write-iops").gauge().value()).isZero();
      }
      assertThat(t.volume("limited").qos()).isEqualTo(VolumeQos.UNLIMITED);
    }
  }

  @Test
  void requestsWaitingWhenTheirHandleClosesFailAsClosedAndHoldNoThread() throws Exception {
    try (Torus t = Torus.builder().ioThreads(1).build()) {
      t.createVolume(VolumeSpec.builder("slow", 4L * MIB).replication(1)
          .qos(VolumeQos.builder().writeIops(1).readIops(1).build()).build());
      BlockVolume v = t.openVolume("slow");
      v.write(0, ByteBuffer.allocate(IO)); // the one token of the burst
      List<java.util.concurrent.CompletableFuture<Void>> waiting = new ArrayList<>();
      for (int i = 0; i < 20; i++) { // 20 s of writes at 1 IOPS, on a node of one I/O thread
        waiting.add(v.writeAsync((long) i * IO, ByteBuffer.allocate(IO)));
      }
      // reads have their own bucket; one past INLINE_MAX runs on the node's only I/O thread,
      // which no waiting write holds
      v.readAsync(0, ByteBuffer.allocate(2 * VolumeEngine.INLINE_MAX)).get(5, TimeUnit.SECONDS);
      assertThat(waiting).noneMatch(java.util.concurrent.CompletableFuture::isDone);
      long start = System.nanoTime();
      v.close();
      for (java.util.concurrent.CompletableFuture<Void> f : waiting) {
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS))
            .hasCauseInstanceOf(io.torus.TorusClosedException.class);
      }
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
    }
  }

  /**
   * Runs {@code op} on both volumes at once, {@link #THREADS} threads each (half of them
   * through the asynchronous API), and returns the rates counted after the warm-up.
   */
  private static Rates phase(BlockVolume limited, BlockVolume free, int size, Op op)
      throws Exception {
    AtomicBoolean counting = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong[] done = {new AtomicLong(), new AtomicLong()};
    AtomicReference<Throwable> failed = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    BlockVolume[] volumes = {limited, free};
    for (int vi = 0; vi < 2; vi++) {
      for (int i = 0; i < THREADS; i++) {
        BlockVolume v = volumes[vi];
        AtomicLong count = done[vi];
        boolean async = i % 2 == 1;
        java.util.Random rnd = new java.util.Random(vi * 100 + i);
        Thread th = new Thread(() -> {
          try {
            while (!stop.get()) {
              op.run(v, async, (long) rnd.nextInt(8 * MIB / size) * size);
              if (counting.get()) {
                count.incrementAndGet();
              }
            }
          } catch (Throwable e) {
            failed.compareAndSet(null, e);
          }
        }, "qos-" + vi + "-" + i);
        threads.add(th);
        th.start();
      }
    }
    Thread.sleep(WARM_UP_MS);
    counting.set(true);
    long start = System.nanoTime();
    Thread.sleep(MEASURE_MS);
    counting.set(false);
    double seconds = (System.nanoTime() - start) / 1e9;
    stop.set(true);
    for (Thread th : threads) {
      th.join(TimeUnit.SECONDS.toMillis(20));
    }
    assertThat(failed.get()).isNull();
    double l = done[0].get() / seconds;
    double f = done[1].get() / seconds;
    return new Rates(l, l * size, f, f * size);
  }
}
