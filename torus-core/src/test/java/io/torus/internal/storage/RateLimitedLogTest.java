package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RateLimitedLogTest {

  @Test
  void logsOncePerIntervalPerKeyAndCountsWhatItHeldBack() {
    AtomicLong now = new AtomicLong(1_000);
    RateLimitedLog log = new RateLimitedLog(LoggerFactory.getLogger(RateLimitedLogTest.class),
        Duration.ofSeconds(10), now::get);
    try (CapturedStderr err = new CapturedStderr()) {
      assertThat(log.warn("a", "store {} failed", "s1", new IOException("disk gone"))).isTrue();
      assertThat(log.warn("a", "store {} failed", "s1", new IOException("again"))).isFalse();
      assertThat(log.warn("b", "other {}", "x")).isTrue();
      now.addAndGet(Duration.ofSeconds(9).toNanos());
      assertThat(log.warn("a", "store {} failed", "s1", new IOException("again"))).isFalse();
      now.addAndGet(Duration.ofSeconds(1).toNanos());
      assertThat(log.warn("a", "store {} failed", "s1", new IOException("later"))).isTrue();
      String text = err.text();
      assertThat(text).contains("WARN").contains("store s1 failed")
          .contains("java.io.IOException: disk gone")
          .contains("store s1 failed (2 similar warnings suppressed)")
          .contains("java.io.IOException: later").contains("other x")
          .doesNotContain("IOException: again");
    }
  }
}
