package io.torus.internal.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.replica.RateLimiter;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins the progress file line and the rate limiter's arithmetic. */
class PassCursorTest {
  @TempDir
  Path dir;

  @Test
  void goldenLineRoundTripsAndDamageStartsOver() throws Exception {
    PassCursor c = new PassCursor(7, 2, new BlockRef(2, 3, 9, BlockKind.DATA), false);
    String line = "v1 ring=7 volume=2 after=000000000000000200000000000000030000000900000000"
        + " clean=false\n";
    assertThat(c.encode()).isEqualTo(line);
    assertThat(PassCursor.decode(line)).contains(c);
    assertThat(PassCursor.decode("v1 ring=1 volume=1 after=- clean=true")).contains(
        new PassCursor(1, 1, null, true));
    Path f = dir.resolve("rebalance.progress");
    c.save(f);
    assertThat(PassCursor.load(f)).contains(c);
    Files.writeString(f, "v1 ring=x");
    assertThat(PassCursor.load(f)).isEmpty();
    assertThat(PassCursor.load(dir.resolve("none"))).isEmpty();
  }

  @Test
  void rateLimiterPacesToItsRate() {
    long[] now = {0};
    RateLimiter r = new RateLimiter(1000, () -> now[0]);
    assertThat(r.reserve(500)).isEqualTo(500_000_000L);
    now[0] = 2_000_000_000L; // the bucket refills to at most one second
    assertThat(r.reserve(1000)).isZero();
    assertThat(r.reserve(1000)).isEqualTo(1_000_000_000L);
  }
}
