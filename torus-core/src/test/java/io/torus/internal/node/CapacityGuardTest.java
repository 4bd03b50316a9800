package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ClusterAdmin;
import io.torus.Erasure;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link CapacityGuard} over hand-set figures: what volumes provision, which ratio applies,
 * the refusal's numbers, and when it warns.
 */
class CapacityGuardTest {
  private static final long GIB = 1L << 30;
  private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

  private final List<VolumeInfo> volumes = new ArrayList<>();
  private final AtomicLong raw = new AtomicLong(10 * GIB);
  private final AtomicLong used = new AtomicLong();
  private final AtomicReference<Optional<ClusterAdmin.Defaults>> defaults =
      new AtomicReference<>(Optional.empty());
  private final AtomicLong now = new AtomicLong();

  private CapacityGuard guard(double ratio, double warn) {
    return new CapacityGuard("n1", "the peers up", () -> List.copyOf(volumes), raw::get,
        used::get,
        defaults::get, ratio, warn, now::get);
  }

  private void volume(String name, long size, int replication, Erasure erasure) {
    volumes.add(new VolumeInfo(volumes.size() + 1, name, size, 4096, replication, T, null,
        erasure));
  }

  @Test
  void volumesProvisionTheirSizeTimesTheirCopiesOrTheirErasureOverhead() {
    volume("r2", 2 * GIB, 2, null);
    volume("r1", GIB, 1, null);
    volume("ec", 4 * GIB, 3, new Erasure(4, 2)); // 1.5x, not its 3 map copies
    ClusterAdmin.Capacity c = guard(Double.NaN, 0.8).capacity();
    assertThat(c.provisionedBytes()).isEqualTo(4 * GIB + GIB + 6 * GIB);
    assertThat(c.rawBytes()).isEqualTo(10 * GIB);
    assertThat(c.overcommitRatio()).isEqualTo(4.0);
    assertThat(c.provisionLimit()).isEqualTo(40 * GIB);
    assertThat(CapacityGuard.footprint(volumes.get(2), 8 * GIB)).isEqualTo(12.0 * GIB);
  }

  @Test
  void aChangePastTheLimitIsRefusedWithTheNumbers() {
    volume("a", 30 * GIB, 1, null);
    CapacityGuard g = guard(Double.NaN, 0.8);
    g.check("creating volume 'b'", 10 * GIB); // exactly at 40 GiB: allowed
    volume("b", 10 * GIB, 1, null);
    assertThatThrownBy(() -> g.check("creating volume 'c'", 1)).isInstanceOf(TorusException.class)
        .hasMessage("creating volume 'c' refused: it provisions 1 bytes, the volumes already"
            + " 42949672960 bytes (40.0 GiB), together 42949672961 bytes (40.0 GiB), past the"
            + " limit of 42949672960 bytes (40.0 GiB) = overcommit ratio 4 x the raw capacity"
            + " of the peers up, 10737418240 bytes (10.0 GiB); delete or shrink volumes, add"
            + " capacity, or raise the ratio (torus init --force --overcommit R,"
            + " TorusBuilder.overcommitRatio; 0 turns the check off)")
        .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.ENOSPC);
  }

  @Test
  void theNodesRatioWinsOverTheClustersWhichWinsOverTheDefault() {
    volume("a", 10 * GIB, 2, null); // 20 GiB of 10 GiB raw
    assertThat(guard(Double.NaN, 0.8).ratio()).isEqualTo(4.0);
    defaults.set(Optional.of(new ClusterAdmin.Defaults(2, 16384, T, T, null, 1.5)));
    assertThat(guard(Double.NaN, 0.8).ratio()).isEqualTo(1.5);
    assertThatThrownBy(() -> guard(Double.NaN, 0.8).check("x", 1))
        .hasMessageContaining("overcommit ratio 1.5 x");
    assertThat(guard(3, 0.8).ratio()).isEqualTo(3.0);
    guard(3, 0.8).check("x", 10 * GIB); // 30 GiB: within 3 x 10
    defaults.set(Optional.of(new ClusterAdmin.Defaults(2, 16384, T, T, null, 0)));
    guard(Double.NaN, 0.8).check("x", 1000 * GIB); // the cluster turned it off
    guard(0, 0.8).check("x", 1000 * GIB); // so did the node
  }

  @Test
  void withNoCapacityKnownNothingIsRefused() {
    raw.set(0);
    volume("a", 100 * GIB, 2, null);
    CapacityGuard g = guard(Double.NaN, 0.8);
    g.check("creating volume 'b'", 100 * GIB);
    assertThat(g.capacity().provisionLimit()).isEqualTo(Long.MAX_VALUE);
    assertThat(g.capacity().nearlyFull()).isFalse();
    assertThat(g.usedRatio()).isZero();
  }

  @Test
  void itWarnsPastTheUsedShareAtMostOncePerInterval() {
    CapacityGuard g = guard(Double.NaN, 0.8);
    used.set(7 * GIB);
    assertThat(g.checkUsage()).isFalse();
    assertThat(g.warning()).isZero();
    used.set(8 * GIB);
    assertThat(g.usedRatio()).isEqualTo(0.8);
    assertThat(g.warning()).isOne();
    assertThat(g.capacity().nearlyFull()).isTrue();
    assertThat(g.checkUsage()).isTrue();
    assertThat(g.checkUsage()).isFalse(); // held back
    now.addAndGet(CapacityGuard.WARN_INTERVAL.toNanos());
    assertThat(g.checkUsage()).isTrue();
    assertThat(guard(Double.NaN, 0).checkUsage()).isFalse(); // warnings off
    assertThat(guard(Double.NaN, 0).warning()).isZero();
  }

  @Test
  void hugeSizesDoNotOverflow() {
    volume("a", 1L << 60, 16, null);
    volume("b", 1L << 60, 16, null);
    assertThat(guard(Double.NaN, 0.8).capacity().provisionedBytes()).isEqualTo(Long.MAX_VALUE);
    assertThatThrownBy(() -> guard(1000, 0.8).check("x", 1))
        .hasMessageContaining("9223372036854775807 bytes (8.0 EiB)");
  }
}
