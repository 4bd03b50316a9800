package io.torus.examples.cli;

import java.io.PrintStream;

/**
 * Progress of a long transfer on standard error: a line rewritten in place on a terminal,
 * a line every 5 s otherwise, and a summary at the end. Not thread-safe.
 */
final class Progress {
  private final String label;
  private final long total;
  private final PrintStream err = System.err;
  private final boolean terminal = System.console() != null;
  private final long start = System.nanoTime();
  private long last = start;
  private long done;
  private boolean shown;

  /** @param total bytes the transfer covers, for the percentage */
  Progress(String label, long total) {
    this.label = label;
    this.total = total;
  }

  /** Records that the transfer reached {@code position} bytes of {@code total}. */
  void at(long position) {
    done = position;
    long now = System.nanoTime();
    if (now - last >= (terminal ? 1_000_000_000L : 5_000_000_000L)) {
      last = now;
      err.print((terminal ? "\r" : "") + line() + (terminal ? "" : "\n"));
      err.flush();
      shown = true;
    }
  }

  private String line() {
    double secs = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
    return String.format("%s: %s / %s (%.0f%%), %s/s", label, Size.human(done),
        Size.human(total), total == 0 ? 100.0 : 100.0 * done / total,
        Size.human((long) (done / secs)));
  }

  /** Ends the progress display; a summary line only if progress was shown. */
  void end() {
    if (shown) {
      finish("complete");
    }
  }

  /** Ends the progress display with a summary line ({@code what} says what moved). */
  void finish(String what) {
    done = total;
    double secs = (System.nanoTime() - start) / 1e9;
    if (shown && terminal) {
      err.println();
    }
    err.printf("%s: done, %s in %.1f s%n", label, what, secs);
    err.flush();
  }
}
