package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusClosedException;
import io.torus.VolumeQos;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link QosGate} on a hand-moved clock: the buckets' rates, bursts and debts, limits changed
 * while in use, and the asynchronous waits.
 */
class QosGateTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private final AtomicLong now = new AtomicLong(1_000 * SECOND);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  private QosGate gate(VolumeQos qos) {
    return new QosGate(qos, now::get, timer, new VolumeMetrics(
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), "n", "v", "rw"));
  }

  @Test
  void unlimitedNeverWaits() {
    QosGate g = gate(VolumeQos.UNLIMITED);
    for (int i = 0; i < 100_000; i++) {
      assertThat(g.read(1 << 20)).isZero();
      assertThat(g.write(1 << 20)).isZero();
    }
  }

  @Test
  void aFullBucketLetsABurstThroughThenRequestsAreSpacedByTheRate() {
    QosGate g = gate(new VolumeQos(100, 0, 0, 0)); // 100 reads/s, 1 s burst: 100 at once
    for (int i = 0; i < 100; i++) {
      assertThat(g.read(4096)).as("read %d", i).isZero();
    }
    // in debt from now on: each read waits 10 ms more than the one before
    for (int i = 1; i <= 50; i++) {
      assertThat(g.read(4096)).isEqualTo(i * SECOND / 100);
    }
    assertThat(g.write(4096)).isZero(); // writes are not limited
    now.addAndGet(SECOND); // 100 tokens back: 50 pay the debt, 50 remain
    for (int i = 0; i < 50; i++) {
      assertThat(g.read(1)).isZero();
    }
    assertThat(g.read(1)).isEqualTo(SECOND / 100);
  }

  @Test
  void theLongRunRateIsTheLimitWhateverTheRequestSizes() {
    // 1 MiB/s of writes, 100 ms burst; requests of 4 KiB to 4 MiB, the largest past the burst
    QosGate g = gate(new VolumeQos(0, 0, 0, 1 << 20, Duration.ofMillis(100)));
    long bytes = 0;
    long start = now.get();
    long last = start;
    java.util.Random rnd = new java.util.Random(7);
    for (int i = 0; i < 2_000; i++) {
      long n = 4096L << rnd.nextInt(11);
      long wait = g.write(n);
      bytes += n;
      last = Math.max(last, now.get() + wait); // when this request may start
      now.addAndGet(rnd.nextInt(1_000_000)); // requests keep arriving, up to 1 ms apart
    }
    double seconds = (last - start) / 1e9;
    // admitted: at most the burst (100 KiB) plus the rate times the time it took
    assertThat(bytes).isLessThanOrEqualTo((long) ((1 << 20) * (seconds + 0.1)) + 1);
    assertThat(bytes / seconds).isBetween(0.99 * (1 << 20), 1.01 * (1 << 20));
  }

  @Test
  void aRequestLargerThanTheBucketProceedsAfterItsWaitAndTheNextPaysItsDebt() {
    QosGate g = gate(new VolumeQos(0, 0, 1000, 0)); // 1000 B/s, bucket 1000 B
    assertThat(g.read(3000)).isEqualTo(2 * SECOND); // 1000 there, 2000 owed
    assertThat(g.read(1)).isEqualTo(2 * SECOND + SECOND / 1000);
    now.addAndGet(3 * SECOND);
    assertThat(g.read(999)).isZero();
  }

  @Test
  void requestsAndBytesLimitTogetherAndTheSlowerOneDecides() {
    QosGate g = gate(new VolumeQos(0, 10, 0, 1000, Duration.ofMillis(100)));
    assertThat(g.write(100)).isZero(); // 1 of 1 request token, 100 of 100 byte tokens
    assertThat(g.write(0)).isEqualTo(SECOND / 10); // a trim: the request bucket only
    assertThat(g.write(500)).isEqualTo(SECOND / 2); // the byte bucket decides
  }

  @Test
  void newLimitsApplyToTheNextRequestWithFullBuckets() {
    QosGate g = gate(new VolumeQos(1, 0, 0, 0));
    assertThat(g.read(1)).isZero();
    assertThat(g.read(1)).isEqualTo(SECOND);
    g.set(new VolumeQos(1000, 0, 0, 0));
    assertThat(g.qos().readIops()).isEqualTo(1000);
    assertThat(g.read(1)).isZero();
    g.set(VolumeQos.UNLIMITED);
    assertThat(g.read(1)).isZero();
    assertThatThrownBy(() -> g.set(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void anAsynchronousWaitHoldsNoThreadAndCloseFailsTheWaiting() throws Exception {
    QosGate g = gate(new VolumeQos(1, 0, 0, 0));
    CompletableFuture<String> soon = g.after(TimeUnit.MILLISECONDS.toNanos(20),
        () -> CompletableFuture.completedFuture("done"), () -> new TorusClosedException("x"));
    assertThat(soon.get(5, TimeUnit.SECONDS)).isEqualTo("done");
    CompletableFuture<String> late = g.after(TimeUnit.HOURS.toNanos(1),
        () -> CompletableFuture.completedFuture("never"), () -> new TorusClosedException("x"));
    assertThat(g.waiting()).isOne();
    g.close(new TorusClosedException("volume 'v' is closed"));
    assertThat(g.waiting()).isZero();
    assertThatThrownBy(() -> late.get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(TorusClosedException.class).hasMessageContaining("closed");
    timer.shutdown();
    CompletableFuture<String> refused = g.after(1, () -> CompletableFuture.completedFuture(""),
        () -> new TorusClosedException("node shutting down"));
    assertThatThrownBy(() -> refused.get(5, TimeUnit.SECONDS))
        .hasMessageContaining("node shutting down");
  }

  @Test
  void aBlockingWaitSleepsThroughAnInterruptAndKeepsIt() {
    assertThat(QosGate.sleep(0)).isFalse();
    Thread.currentThread().interrupt();
    long t0 = System.nanoTime();
    assertThat(QosGate.sleep(TimeUnit.MILLISECONDS.toNanos(30))).isTrue();
    assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
    assertThat(Thread.interrupted()).isTrue();
  }
}
