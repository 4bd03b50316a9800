package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.ClusterAdmin.Capacity;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The space lines of {@code torus status}: provisioned against the limit, and the warning. */
class StatusSpaceTest {
  private static final long GIB = 1L << 30;

  private static String print(Capacity c) {
    PrintStream old = System.out;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    try {
      StatusCommand.printSpace(c);
    } finally {
      System.setOut(old);
    }
    return o.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theLimitAndAWarningPastTheUsedShare() {
    assertThat(print(new Capacity(10 * GIB, 2 * GIB, 30 * GIB, 4, 0.8)))
        .isEqualTo("space: volumes provision 30.0 GiB (copies and parity counted) of 40.0 GiB"
            + " allowed (overcommit 4 x 10.0 GiB raw)\n");
    assertThat(print(new Capacity(10 * GIB, 9 * GIB, 30 * GIB, 1.5, 0.8)))
        .isEqualTo("space: volumes provision 30.0 GiB (copies and parity counted) of 15.0 GiB"
            + " allowed (overcommit 1.5 x 10.0 GiB raw)\n"
            + "WARNING: 9.0 GiB of 10.0 GiB in use (90%), past the 80% warning threshold; add"
            + " capacity or delete data\n");
    assertThat(print(new Capacity(10 * GIB, 9 * GIB, 30 * GIB, 0, 0)))
        .isEqualTo("space: volumes provision 30.0 GiB (copies and parity counted) of no limit"
            + " (overcommit check off)\n");
  }
}
