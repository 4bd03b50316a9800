package io.torus.examples.cli;

import sun.misc.Signal;

/**
 * SIGINT and SIGTERM as a request to stop: the long-running commands then drain, flush and
 * return their own exit status (instead of the JVM's 130/143 after shutdown hooks).
 */
final class Signals {
  private Signals() {}

  /** Runs {@code action} (on a signal thread) when SIGINT or SIGTERM arrives. */
  @SuppressWarnings("sunapi")
  static void onTermination(Runnable action) {
    Signal.handle(new Signal("INT"), s -> action.run());
    Signal.handle(new Signal("TERM"), s -> action.run());
  }
}
