package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Turns Netty leak reports into test failures: installs a leak detector factory that records
 * every report, and {@link #assertNoLeaks()} forces collection and checks the record. Must be
 * installed before the first ByteBuf class is initialised (the IT base class does it).
 */
final class LeakTracker {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
  private static volatile boolean installed;

  private LeakTracker() {}

  static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
      @Override
      public <T> ResourceLeakDetector<T> newResourceLeakDetector(
          Class<T> resource, int samplingInterval, long maxActive) {
        return new ResourceLeakDetector<T>(resource, samplingInterval) {
          @Override
          protected boolean needReport() {
            return true;
          }

          @Override
          protected void reportTracedLeak(String type, String records) {
            LEAKS.add("LEAK " + type + records);
          }

          @Override
          protected void reportUntracedLeak(String type) {
            LEAKS.add("LEAK " + type + " (untraced)");
          }
        };
      }
    });
  }

  /** Collects garbage, triggers the detectors, and fails if any leak was reported. */
  static void assertNoLeaks() throws InterruptedException {
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(40);
      for (ByteBufAllocator a : new ByteBufAllocator[] {ByteBufAllocator.DEFAULT,
          PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT}) {
        for (int j = 0; j < 50; j++) {
          a.buffer(8).release();
          a.directBuffer(8).release();
        }
      }
    }
    assertThat(LEAKS).as("Netty buffer leaks").isEmpty();
  }
}
