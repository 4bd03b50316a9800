package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.ClusterAdmin;
import io.torus.GcResult;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.layer.BlockLayer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** When a node collects, with a hand-moved ticker: no sleeping. */
class GcSchedulerTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final AtomicLong now = new AtomicLong(1_000 * SECOND);
  private final MeterRegistry registry = new SimpleMeterRegistry();

  /** A placement that counts collections; pressure, leadership and failure are settable. */
  private static final class Fake implements Placement {
    int collections;
    boolean pressure;
    boolean leader = true;
    boolean failing;

    @Override
    public void checkReplication(int replication) {}

    @Override
    public BlockLayer layer(VolumeInfo info, long epoch) {
      throw new UnsupportedOperationException();
    }

    @Override
    public GcResult collectGarbage() {
      if (failing) {
        throw new TorusException(io.torus.ErrorCode.EIO, "metadata unreachable");
      }
      collections++;
      return new GcResult(10, 13, 3);
    }

    @Override
    public boolean collectsInBackground() {
      return leader;
    }

    @Override
    public boolean underPressure() {
      return pressure;
    }

    @Override
    public long rawCapacity() {
      return 0;
    }

    @Override
    public long usedBytes() {
      return 0;
    }

    @Override
    public ClusterAdmin admin() {
      return new LocalAdmin(() -> new ClusterAdmin.Capacity(0, 0, 0, 0, 0));
    }

    @Override
    public int peerPort() {
      return -1;
    }

    @Override
    public List<Meter> bindMetrics(MeterRegistry r) {
      return List.of();
    }

    @Override
    public void close() {}
  }

  @Test
  void collectsOncePerIntervalAndSoonerUnderPressure() {
    Fake p = new Fake();
    GcScheduler gc = new GcScheduler(p, 300 * SECOND, now::get, registry, "n1", null);
    gc.tick();
    assertThat(p.collections).isZero();
    now.addAndGet(299 * SECOND);
    gc.tick();
    assertThat(p.collections).isZero();
    now.addAndGet(2 * SECOND);
    gc.tick();
    assertThat(p.collections).isEqualTo(1);
    p.pressure = true;
    now.addAndGet(4 * SECOND);
    gc.tick();
    assertThat(p.collections).as("pressure waits 5 s between cycles").isEqualTo(1);
    now.addAndGet(2 * SECOND);
    gc.tick();
    assertThat(p.collections).isEqualTo(2);
    assertThat(registry.counter("torus.gc.deleted", "node", "n1").count()).isEqualTo(6);
  }

  @Test
  void aPeerThatDoesNotLeadNeverCollectsInTheBackground() {
    Fake p = new Fake();
    p.leader = false;
    GcScheduler gc = new GcScheduler(p, SECOND, now::get, registry, "n1", null);
    now.addAndGet(3600 * SECOND);
    gc.tick();
    assertThat(p.collections).isZero();
    assertThat(gc.collect().deletedBlocks()).isEqualTo(3); // on demand it still collects
  }

  @Test
  void aFailedCycleIsCountedAndDoesNotStopLaterOnes() {
    Fake p = new Fake();
    p.failing = true;
    GcScheduler gc = new GcScheduler(p, SECOND, now::get, registry, "n1", null);
    now.addAndGet(2 * SECOND);
    gc.tick(); // logged, not thrown
    assertThat(registry.counter("torus.gc.failures", "node", "n1").count()).isEqualTo(1);
    assertThatThrownBy(gc::collect).isInstanceOf(TorusException.class);
    p.failing = false;
    now.addAndGet(2 * SECOND);
    gc.tick();
    assertThat(p.collections).isEqualTo(1);
  }
}
