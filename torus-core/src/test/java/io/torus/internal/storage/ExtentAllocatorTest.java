package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExtentAllocatorTest {
  private static final int UNIT_PAYLOAD = FileBlockStore.UNIT - BlockHeader.SIZE;

  /** A payload length that needs exactly {@code units} units. */
  private static int lengthFor(int units) {
    return UNIT_PAYLOAD + (units - 1) * FileBlockStore.UNIT;
  }

  @Test
  void allocatesRoundRobinAndReportsFull() {
    ExtentAllocator a = new ExtentAllocator(2, 10);
    Location l0 = a.allocate(4, lengthFor(4));
    Location l1 = a.allocate(4, lengthFor(4));
    assertThat(l0.file()).isNotEqualTo(l1.file());
    assertThat(a.usedUnits()).isEqualTo(8);
    assertThat(a.allocate(7, lengthFor(7))).isNull();
    assertThat(a.allocate(6, lengthFor(6))).isNotNull();
    assertThat(a.largestRun()).isEqualTo(6);
  }

  @Test
  void freeMergesNeighboursSoLargeRunsComeBack() {
    ExtentAllocator a = new ExtentAllocator(1, 12);
    Location x = a.allocate(4, lengthFor(4));
    Location y = a.allocate(4, lengthFor(4));
    Location z = a.allocate(4, lengthFor(4));
    assertThat(a.freeUnits()).isZero();
    a.free(x);
    a.free(z);
    assertThat(a.largestRun()).isEqualTo(4);
    a.free(y);
    assertThat(a.largestRun()).isEqualTo(12);
    assertThatThrownBy(() -> a.free(y)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void reserveRejectsOverlapAndOutOfBounds() {
    ExtentAllocator a = new ExtentAllocator(2, 10);
    assertThat(a.reserve(new Location(0, 2, lengthFor(3)))).isTrue();
    assertThat(a.reserve(new Location(0, 4, lengthFor(2)))).isFalse();
    assertThat(a.reserve(new Location(0, 8, lengthFor(3)))).isFalse();
    assertThat(a.reserve(new Location(2, 0, 10))).isFalse();
    assertThat(a.reserve(new Location(0, 5, lengthFor(5)))).isTrue();
    assertThat(a.usedUnits()).isEqualTo(8);
    assertThat(a.largestRun()).isEqualTo(10);
  }

  @Test
  void randomAllocateFreeNeverHandsOutAUsedUnit() {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    ExtentAllocator a = new ExtentAllocator(3, 200);
    BitSet[] used = {new BitSet(), new BitSet(), new BitSet()};
    List<Location> live = new ArrayList<>();
    for (int step = 0; step < 5000; step++) {
      if (live.isEmpty() || rnd.nextInt(3) > 0) {
        int units = 1 + rnd.nextInt(20);
        Location l = a.allocate(units, lengthFor(units));
        if (l != null) {
          BitSet b = used[l.file()];
          assertThat(b.get(l.unit(), l.unit() + units).isEmpty())
              .as("seed %d step %d", seed, step).isTrue();
          b.set(l.unit(), l.unit() + units);
          live.add(l);
        }
      } else {
        Location l = live.remove(rnd.nextInt(live.size()));
        used[l.file()].clear(l.unit(), l.unit() + l.units());
        a.free(l);
      }
      long inUse = used[0].cardinality() + used[1].cardinality() + used[2].cardinality();
      assertThat(a.usedUnits()).as("seed %d", seed).isEqualTo(inUse);
    }
  }
}
