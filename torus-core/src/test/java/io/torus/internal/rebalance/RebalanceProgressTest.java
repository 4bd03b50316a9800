package io.torus.internal.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.meta.ReplicationReport;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RebalanceProgressTest {
  /** A store whose first publish waits until released: a put slow to reach etcd. */
  private static final class SlowFirstPut extends NoReports {
    final List<ReplicationReport> stored = new CopyOnWriteArrayList<>();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void publish(ReplicationReport report) {
      if (entered.getCount() > 0) {
        entered.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      stored.add(report);
    }
  }

  /**
   * The reporter's publish of a pass beginning is slow; the pass finishes and publishes
   * meanwhile. What etcd ends with is the finished pass, never the older report (a peer that
   * would never look settled).
   */
  @Test
  @Timeout(30)
  void aSlowPublishNeverLandsAfterANewerOne() throws Exception {
    SlowFirstPut store = new SlowFirstPut();
    RebalanceProgress p = new RebalanceProgress("p1", null, store);
    p.begin(7, 10);
    Thread reporter = new Thread(p::publish);
    reporter.start();
    assertThat(store.entered.await(10, TimeUnit.SECONDS)).isTrue();
    p.page(new PassCursor(7, 1, null, true), 10);
    Thread worker = new Thread(() -> p.finish(new PassCursor(7, 2, null, true), true));
    worker.start();
    worker.join(500); // without serialization it would land first
    store.release.countDown();
    reporter.join(10_000);
    worker.join(10_000);
    ReplicationReport last = store.stored.get(store.stored.size() - 1);
    assertThat(last.done()).isTrue();
    assertThat(last.scanned()).isEqualTo(10);
    assertThat(last.ringVersion()).isEqualTo(7);
  }
}
