package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * {@code torus ARGS} run in this process with a given environment: the exit code and what it
 * printed on standard output and standard error.
 */
record CapturedRun(int exit, String out, String err) {
  static CapturedRun of(Map<String, String> env, String... args) {
    PrintStream oldErr = System.err;
    PrintStream oldOut = System.out;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    int exit;
    try {
      exit = TorusCommand.run(env, args);
    } finally {
      System.setErr(oldErr);
      System.setOut(oldOut);
    }
    return new CapturedRun(exit, o.toString(StandardCharsets.UTF_8),
        e.toString(StandardCharsets.UTF_8));
  }

  /** The standard output of a run that must succeed (the assertion shows both streams). */
  static String ok(Map<String, String> env, String... args) {
    CapturedRun r = of(env, args);
    assertThat(r.exit()).as("torus %s%n%s%s", String.join(" ", args), r.out(), r.err())
        .isZero();
    return r.out();
  }
}
