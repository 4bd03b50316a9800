package io.torus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link VolumeSpec}: the erasure-coding policy and how it sets and bounds replication. */
class VolumeSpecTest {
  private static final long MIB = 1 << 20;

  @Test
  void theShorterConstructorsMeanNoErasureCoding() {
    VolumeSpec four = new VolumeSpec("v", MIB, 4096, 2);
    VolumeSpec five = new VolumeSpec("v", MIB, 4096, 2, null);
    assertThat(four).isEqualTo(five).isEqualTo(new VolumeSpec("v", MIB, 4096, 2, null, null));
    assertThat(four.erasure()).isNull();
    assertThat(four.erasureCoded()).isFalse();
    assertThat(VolumeSpec.builder("v", MIB).build().erasureCoded()).isFalse();
  }

  @Test
  void anErasurePolicyWithoutAReplicationGivesMPlusOneCopies() {
    VolumeSpec s = VolumeSpec.builder("ec", MIB).erasure(4, 2).build();
    assertThat(s.erasure()).isEqualTo(new Erasure(4, 2));
    assertThat(s.erasureCoded()).isTrue();
    assertThat(s.replication()).isEqualTo(3);
    assertThat(VolumeSpec.builder("ec", MIB).erasure(new Erasure(8, 4)).build().replication())
        .isEqualTo(5);
    // the order of the calls does not matter, only whether replication was set
    assertThat(VolumeSpec.builder("ec", MIB).replication(4).erasure(4, 2).build().replication())
        .isEqualTo(4);
    assertThat(VolumeSpec.builder("ec", MIB).erasure(4, 2).replication(3).build())
        .isEqualTo(s);
  }

  @Test
  void aReplicationBelowMPlusOneIsRefused() {
    assertThatThrownBy(() -> VolumeSpec.builder("ec", MIB).erasure(4, 2).replication(2).build())
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("erasure-coded 4+2 volume needs replication >= 3")
        .hasMessageContaining("map nodes and head keep parity shards + 1 copies")
        .hasMessageEndingWith(": 2")
        .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL);
    assertThatThrownBy(() -> new VolumeSpec("ec", MIB, 4096, 1, null, new Erasure(2, 1)))
        .isInstanceOf(TorusException.class).hasMessageContaining("replication >= 2");
    assertThat(new VolumeSpec("ec", MIB, 4096, 2, null, new Erasure(2, 1)).replication())
        .isEqualTo(2);
  }

  @Test
  void aBadPolicyIsRefusedWhenNamedAndNullMeansReplicated() {
    assertThatThrownBy(() -> VolumeSpec.builder("ec", MIB).erasure(0, 2))
        .isInstanceOf(TorusException.class).hasMessageContaining("data shards: 0");
    VolumeSpec back = VolumeSpec.builder("v", MIB).erasure(4, 2).erasure(null).build();
    assertThat(back.erasure()).isNull();
    assertThat(back.replication()).isEqualTo(VolumeSpec.DEFAULT_REPLICATION);
  }

  @Test
  void volumeInfoCarriesThePolicyThroughWith() {
    java.time.Instant t = java.time.Instant.EPOCH;
    VolumeInfo plain = new VolumeInfo(1, "v", MIB, 4096, 2, t);
    assertThat(plain).isEqualTo(new VolumeInfo(1, "v", MIB, 4096, 2, t, null, null));
    assertThat(plain.erasureCoded()).isFalse();
    VolumeInfo ec = new VolumeInfo(2, "ec", MIB, 4096, 3, t, null, new Erasure(4, 2));
    assertThat(ec.erasureCoded()).isTrue();
    assertThat(ec.with(2 * MIB, 3).erasure()).isEqualTo(new Erasure(4, 2));
    assertThat(ec.with(2 * MIB, 3).size()).isEqualTo(2 * MIB);
  }
}
