package io.torus.internal.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The lock and commit rules the etcd service uses ({@link LockRules}) are the ones the local
 * service applies: same generations, same refusals with the same messages.
 */
class LockRulesTest {
  private static final BlockRef ROOT = new BlockRef(7, 3, 0, BlockKind.MAP);
  private static final List<Head> HEADS = List.of(new Head(7, null, 0, 1),
      new Head(7, ROOT, 3, 9), new Head(7, ROOT, 3, 9, 4099), new Head(7, ROOT, 5000, 12, 5000),
      new Head(7, ROOT, 1L << 40, 13, (1L << 40) + Head.RESERVATION));

  @Test
  void generationsMoveAsTheLocalServiceMovesThem() {
    for (Head h : HEADS) {
      assertThat(LockRules.lockedGeneration(h)).as("%s", h)
          .isEqualTo(LocalMetadataService.lockedGeneration(h));
      for (long g : new long[] {h.generation() + 1, h.reserved(), h.reserved() + 5000}) {
        assertThat(LockRules.committedReservation(h, g)).as("%s at %d", h, g)
            .isEqualTo(LocalMetadataService.committedReservation(h, g));
      }
    }
  }

  @Test
  void commitsAndHoldersAreRefusedAsTheLocalServiceRefusesThem() {
    for (Head h : HEADS) {
      VolumeLock mine = new VolumeLock(7, "w", 1, h);
      VolumeLock other = new VolumeLock(8, "w", 1, h);
      for (VolumeLock lock : List.of(mine, other)) {
        for (long g : new long[] {h.generation(), h.generation() + 1, h.reserved() + 1}) {
          assertSameOutcome(() -> LockRules.checkCommit(lock, h, ROOT, g),
              () -> LocalMetadataService.checkCommit(lock, h, ROOT, g));
        }
      }
    }
    for (String holder : new String[] {null, "", "  ", "node-a", "x".repeat(1024),
        "x".repeat(1025)}) {
      assertSameOutcome(() -> LockRules.checkHolder(holder),
          () -> LocalMetadataService.checkHolder(holder));
    }
  }

  private static void assertSameOutcome(Runnable rules, Runnable local) {
    Throwable a = catchThrowable(rules::run);
    Throwable b = catchThrowable(local::run);
    if (b == null) {
      assertThat(a).isNull();
    } else {
      assertThat(a).isNotNull().hasSameClassAs(b).hasMessage(b.getMessage());
    }
  }
}
