package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import java.io.PrintStream;
import java.time.Duration;

/**
 * {@code --wait}: follows the cluster's replication reports until every block has its copies,
 * drawing a progress bar (bytes moved of the most there were to move) on one terminal line.
 */
final class ReplicationProgress {
  private static final int WIDTH = 30;

  private ReplicationProgress() {}

  /**
   * Waits until the cluster reports itself settled, at most {@code timeout}; returns whether it
   * settled. A settled report is only trusted once it is newer than the change asked for:
   * the first 3 s are always waited out.
   */
  static boolean await(ClusterAdmin cluster, Duration timeout, PrintStream out)
      throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long most = 1;
    while (System.nanoTime() < deadline) {
      ClusterAdmin.Replication r = cluster.replication().orElse(null);
      if (r == null) {
        return true; // not a cluster: nothing to wait for
      }
      most = Math.max(most, r.bytesToMove());
      out.print("\r" + line(r, most));
      out.flush();
      boolean graceOver = System.nanoTime() - start > Duration.ofSeconds(3).toNanos();
      if (r.settled() && graceOver) {
        out.println();
        return true;
      }
      Thread.sleep(500);
    }
    out.println();
    return false;
  }

  /** One progress line, e.g. {@code [#####.....]  50% 12 copies missing, 3 MiB to move}. */
  static String line(ClusterAdmin.Replication r, long most) {
    double done = r.settled() ? 1.0
        : Math.max(0, Math.min(1, 1.0 - (double) r.bytesToMove() / Math.max(1, most)));
    int filled = (int) Math.round(done * WIDTH);
    StringBuilder b = new StringBuilder("[");
    b.append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append("] ");
    b.append(String.format("%3.0f%% %d copies missing, %s to move", done * 100,
        r.underReplicated(), Size.human(r.bytesToMove())));
    if (r.rateBytesPerSecond() > 0) {
      b.append(" at ").append(Size.human(r.rateBytesPerSecond())).append("/s");
    }
    if (r.etaSeconds() >= 0 && !r.settled()) {
      b.append(", ~").append(r.etaSeconds()).append(" s left");
    }
    return b.toString();
  }
}
