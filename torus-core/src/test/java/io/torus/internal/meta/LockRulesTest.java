package io.torus.internal.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import org.junit.jupiter.api.Test;

/** The lock and generation rules both metadata services apply. */
class LockRulesTest {
  private static final BlockRef ROOT = new BlockRef(7, 3, 0, BlockKind.MAP);

  @Test
  void aNewLockMovesPastEverythingReservedBefore() {
    assertThat(LockRules.lockedGeneration(new Head(7, null, 0, 1))).isEqualTo(1);
    assertThat(LockRules.lockedGeneration(new Head(7, ROOT, 3, 9))).isEqualTo(4);
    assertThat(LockRules.lockedGeneration(new Head(7, ROOT, 3, 9, 4099))).isEqualTo(4100);
  }

  @Test
  void aCommitKeepsOrExtendsTheReservation() {
    Head h = new Head(7, ROOT, 3, 9, 9000);
    assertThat(LockRules.committedReservation(h, 4)).isEqualTo(9000); // 4 + 4096 < 9000
    assertThat(LockRules.committedReservation(h, 5000)).isEqualTo(5000 + Head.RESERVATION);
  }

  @Test
  void aCommitMustNameAGenerationInsideItsReservationOnItsOwnVolume() {
    Head h = new Head(7, ROOT, 3, 9, 4099);
    VolumeLock lock = new VolumeLock(7, "w", 1, h);
    LockRules.checkCommit(lock, h, ROOT, 4);
    LockRules.checkCommit(lock, h, ROOT, 4099);
    assertThatThrownBy(() -> LockRules.checkCommit(lock, h, ROOT, 3))
        .isInstanceOf(TorusException.class).hasMessageContaining("must be greater");
    assertThatThrownBy(() -> LockRules.checkCommit(lock, h, ROOT, 4100))
        .isInstanceOf(TorusException.class).hasMessageContaining("past the generations");
    assertThatThrownBy(() -> LockRules.checkCommit(new VolumeLock(8, "w", 1, h), h, ROOT, 4))
        .isInstanceOf(TorusException.class).hasMessageContaining("does not belong");
  }

  @Test
  void holdersAreOneTo1024CharactersNotBlank() {
    assertThat(LockRules.checkHolder("node-a")).isEqualTo("node-a");
    assertThat(LockRules.checkHolder("x".repeat(1024))).hasSize(1024);
    for (String bad : new String[] {null, "", "  ", "x".repeat(1025)}) {
      assertThatThrownBy(() -> LockRules.checkHolder(bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("lock holder");
    }
  }
}
