package io.torus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** {@link Erasure}: its text form, its bounds and the figures derived from k and m. */
class ErasureTest {

  @Test
  void parsesAndPrintsKPlusM() {
    Erasure e = Erasure.parse("4+2");
    assertThat(e).isEqualTo(new Erasure(4, 2));
    assertThat(e.toString()).isEqualTo("4+2");
    assertThat(Erasure.parse(e.toString())).isEqualTo(e);
    assertThat(Erasure.parse("16+8")).isEqualTo(new Erasure(16, 8));
    assertThat(Erasure.parse("1+1")).isEqualTo(new Erasure(1, 1));
  }

  @Test
  void anythingElseIsAClearEinval() {
    for (String bad : new String[] {"", "4", "4+", "+2", "4-2", "4 + 2", " 4+2", "4+2+1",
        "a+b", "4/2", "-4+2", "4+-2", "99999999999+1"}) {
      assertThatThrownBy(() -> Erasure.parse(bad)).as("'%s'", bad)
          .isInstanceOf(TorusException.class)
          .hasMessageContaining("written DATA+PARITY, e.g. 4+2")
          .hasMessageContaining("'" + bad + "'")
          .extracting(t -> ((TorusException) t).code()).isEqualTo(ErrorCode.EINVAL);
    }
    assertThatThrownBy(() -> Erasure.parse(null)).isInstanceOf(TorusException.class)
        .hasMessageContaining("null");
  }

  @Test
  void shardCountsAreBounded() {
    assertThatThrownBy(() -> new Erasure(0, 2)).isInstanceOf(TorusException.class)
        .hasMessageContaining("1 to 16 data shards: 0");
    assertThatThrownBy(() -> new Erasure(17, 2)).hasMessageContaining("data shards: 17");
    assertThatThrownBy(() -> new Erasure(4, 0)).hasMessageContaining("1 to 8 parity shards: 0");
    assertThatThrownBy(() -> new Erasure(4, 9)).hasMessageContaining("parity shards: 9");
    assertThatThrownBy(() -> Erasure.parse("17+2")).isInstanceOf(TorusException.class)
        .hasMessageContaining("data shards: 17");
    assertThatThrownBy(() -> Erasure.parse("4+9")).hasMessageContaining("parity shards: 9");
    assertThatThrownBy(() -> new Erasure(-1, 2))
        .extracting(t -> ((TorusException) t).code()).isEqualTo(ErrorCode.EINVAL);
  }

  @Test
  void shardsOverheadAndMapCopies() {
    Erasure e = new Erasure(4, 2);
    assertThat(e.totalShards()).isEqualTo(6);
    assertThat(e.overhead()).isEqualTo(1.5);
    assertThat(e.mapCopies()).isEqualTo(3);
    assertThat(new Erasure(6, 3).overhead()).isEqualTo(1.5);
    assertThat(new Erasure(10, 4).overhead()).isCloseTo(1.4, within(1e-12));
    assertThat(new Erasure(1, 1).overhead()).isEqualTo(2.0);
    assertThat(new Erasure(16, 8).totalShards()).isEqualTo(24);
    assertThat(new Erasure(16, 8).mapCopies()).isEqualTo(9);
  }
}
