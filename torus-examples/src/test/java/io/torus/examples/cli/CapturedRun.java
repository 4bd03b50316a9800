package io.torus.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * {@code torus ARGS} run in this process with a given environment: the exit code and what it
 * printed on standard error (standard output is dropped).
 */
record CapturedRun(int exit, String err) {
  static CapturedRun of(Map<String, String> env, String... args) {
    PrintStream oldErr = System.err;
    PrintStream oldOut = System.out;
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    int exit;
    try {
      exit = TorusCommand.run(env, args);
    } finally {
      System.setErr(oldErr);
      System.setOut(oldOut);
    }
    return new CapturedRun(exit, e.toString(StandardCharsets.UTF_8));
  }
}
