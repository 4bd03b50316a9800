package io.torus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@link VolumeQos}: its bounds, builder and text, and how specs and infos carry it. */
class VolumeQosTest {
  private static final long MIB = 1 << 20;

  @Test
  void zeroIsNoLimitAndTheDefaultBurstIsOneSecond() {
    VolumeQos q = new VolumeQos(0, 0, 0, 0);
    assertThat(q).isEqualTo(VolumeQos.UNLIMITED);
    assertThat(q.unlimited()).isTrue();
    assertThat(q.burst()).isEqualTo(Duration.ofSeconds(1));
    assertThat(q.describe()).isEqualTo("unlimited");
    assertThat(new VolumeQos(0, 0, 0, 0, Duration.ofSeconds(5)).unlimited()).isTrue();
    assertThat(new VolumeQos(0, 1, 0, 0).unlimited()).isFalse();
  }

  @Test
  void negativeOrHugeLimitsAndOddBurstsAreAClearEinval() {
    assertThatThrownBy(() -> new VolumeQos(-1, 0, 0, 0)).isInstanceOf(TorusException.class)
        .hasMessageContaining("readIops must be 0 (no limit) to 2^50: -1")
        .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL);
    assertThatThrownBy(() -> new VolumeQos(0, -5, 0, 0)).hasMessageContaining("writeIops");
    assertThatThrownBy(() -> new VolumeQos(0, 0, (1L << 50) + 1, 0))
        .hasMessageContaining("readBytesPerSecond");
    assertThatThrownBy(() -> new VolumeQos(0, 0, 0, Long.MIN_VALUE))
        .hasMessageContaining("writeBytesPerSecond");
    for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofMillis(-1),
        Duration.ofNanos(1500_000), Duration.ofHours(1).plusMillis(1)}) {
      assertThatThrownBy(() -> new VolumeQos(1, 1, 1, 1, bad)).as("%s", bad)
          .isInstanceOf(TorusException.class)
          .hasMessageContaining("burst must be whole milliseconds from 1 ms to 1 h");
    }
    assertThatThrownBy(() -> new VolumeQos(1, 1, 1, 1, null))
        .isInstanceOf(NullPointerException.class);
    assertThat(new VolumeQos(1L << 50, 0, 0, 0, Duration.ofHours(1)).readIops())
        .isEqualTo(1L << 50);
    assertThat(new VolumeQos(1, 0, 0, 0, Duration.ofMillis(1)).burst().toMillis()).isOne();
  }

  @Test
  void theBuilderChangesOnlyWhatItIsTold() {
    VolumeQos q = VolumeQos.builder().readIops(500).writeBytesPerSecond(50 * MIB).build();
    assertThat(q).isEqualTo(new VolumeQos(500, 0, 0, 50 * MIB));
    VolumeQos more = q.toBuilder().writeIops(200).burst(Duration.ofMillis(250)).build();
    assertThat(more).isEqualTo(new VolumeQos(500, 200, 0, 50 * MIB, Duration.ofMillis(250)));
    assertThat(more.toBuilder().readIops(0).build().readIops()).isZero();
    assertThatThrownBy(() -> VolumeQos.builder().readIops(-2).build())
        .isInstanceOf(TorusException.class).hasMessageContaining("-2");
  }

  @Test
  void describesItselfForPeople() {
    assertThat(new VolumeQos(500, 0, 100 * MIB, 0).describe())
        .isEqualTo("read 500 IOPS 100 MiB/s, write unlimited, burst 1 s");
    assertThat(new VolumeQos(0, 200, 0, 1500, Duration.ofMillis(250)).describe())
        .isEqualTo("read unlimited, write 200 IOPS 1500 B/s, burst 250 ms");
    assertThat(new VolumeQos(0, 0, 0, 3 * MIB).describe())
        .isEqualTo("read unlimited, write 3 MiB/s, burst 1 s");
  }

  @Test
  void specsAndInfosWithoutLimitsHaveNoneAndKeepThemThroughChanges() {
    VolumeSpec plain = new VolumeSpec("v", MIB, 4096, 2, null, null);
    assertThat(plain.qos()).isEqualTo(VolumeQos.UNLIMITED);
    assertThat(plain).isEqualTo(new VolumeSpec("v", MIB, 4096, 2, null, null, null));
    assertThat(VolumeSpec.builder("v", MIB).build().qos()).isEqualTo(VolumeQos.UNLIMITED);
    VolumeQos q = new VolumeQos(10, 20, 30, 40);
    VolumeSpec limited = VolumeSpec.builder("v", MIB).qos(q).erasure(2, 1).build();
    assertThat(limited.qos()).isEqualTo(q);
    assertThat(limited.erasure()).isEqualTo(new Erasure(2, 1));
    assertThatThrownBy(() -> VolumeSpec.builder("v", MIB).qos(null))
        .isInstanceOf(NullPointerException.class);

    Instant t = Instant.parse("2026-03-01T10:00:00Z");
    VolumeInfo six = new VolumeInfo(1, "v", MIB, 4096, 2, t);
    assertThat(six.qos()).isEqualTo(VolumeQos.UNLIMITED);
    assertThat(six).isEqualTo(new VolumeInfo(1, "v", MIB, 4096, 2, t, null, null, null));
    VolumeInfo info = six.withQos(q);
    assertThat(info.qos()).isEqualTo(q);
    assertThat(info.with(2 * MIB, 3).qos()).isEqualTo(q);
    assertThat(info.with(2 * MIB, 3).size()).isEqualTo(2 * MIB);
  }
}
