package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the shaded {@code torus.jar} as real processes for integration tests: one-shot
 * commands with a deadline, and long-running ones (nodes, NBD servers) with a log file.
 * {@link #close()} kills every process it started, by PID, with its descendants.
 */
final class TorusProcesses implements AutoCloseable {
  /** What a one-shot command did. */
  record Result(int exit, String out, String err) {
    /** stdout then stderr, for assertion messages. */
    String all() {
      return out + err;
    }
  }

  private final Path dir;
  private final Map<String, String> env = new HashMap<>();
  private final List<Process> started = new ArrayList<>();
  private final Map<Process, Path> logs = new HashMap<>();
  private final Path jar = Path.of("target", "torus.jar").toAbsolutePath();
  private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java")
      .toString();

  /** @param dir where logs and captured output go */
  TorusProcesses(Path dir) {
    this.dir = dir;
    assertThat(jar).as("torus.jar, built by mvn package").exists();
  }

  /** Sets an environment variable of every later process. */
  TorusProcesses env(String name, String value) {
    env.put(name, value);
    return this;
  }

  private ProcessBuilder builder(String... args) {
    List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx256m", "-XX:TieredStopAtLevel=1",
        "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    return pb;
  }

  /** Runs {@code torus ARGS} to its end (at most 120 s). */
  Result run(String... args) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process p = builder(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    started.add(p);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out: torus " + String.join(" ", args));
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** Runs {@code torus ARGS} and asserts it succeeded; returns its standard output. */
  String ok(String... args) throws IOException, InterruptedException {
    Result r = run(args);
    assertThat(r.exit()).as("torus %s%n%s", String.join(" ", args), r.all()).isZero();
    return r.out();
  }

  /**
   * Starts {@code torus ARGS} in the background and waits (at most 60 s) until its output
   * contains {@code ready}.
   */
  Process start(String ready, String... args) throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, args[0], ".log");
    Process p = builder(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(p);
    logs.put(p, log);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!Files.readString(log).contains(ready)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        fail("torus " + String.join(" ", args) + " did not start:\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
    return p;
  }

  /**
   * Starts {@code torus ARGS} with standard output to {@code out} and standard input from
   * {@code in} (null: none); standard error goes to a log file.
   */
  Process startRaw(Path out, Path in, String... args) throws IOException {
    ProcessBuilder pb = builder(args).redirectOutput(out.toFile())
        .redirectError(Files.createTempFile(dir, "stderr", ".log").toFile());
    if (in != null) {
      pb.redirectInput(in.toFile());
    }
    Process p = pb.start();
    started.add(p);
    return p;
  }

  /** What a process started by {@link #start} has printed so far. */
  String log(Process p) throws IOException {
    return Files.readString(logs.get(p));
  }

  /** Stops a long-running process with SIGTERM; asserts it exits 0 within 60 s. */
  static void stop(Process p) throws InterruptedException {
    p.destroy();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
    assertThat(p.exitValue()).as("exit status after SIGTERM").isZero();
  }

  /** Kills a process with SIGKILL and waits for it. */
  static void kill9(Process p) throws InterruptedException {
    p.destroyForcibly();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("dies on SIGKILL").isTrue();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Fails with the install command unless {@code /usr/bin/NAME} exists. */
  static void requireTool(String name, String debianPackage) {
    if (!Files.isExecutable(Path.of("/usr/bin", name))) {
      fail(name + " is not installed; install it with: apt-get install -y " + debianPackage);
    }
  }

  /** Runs an external tool to its end (at most 120 s); asserts exit 0; returns its output. */
  static String tool(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        fail("timed out: " + String.join(" ", cmd));
      }
      out = p.getInputStream().readAllBytes();
    } finally {
      p.destroyForcibly();
    }
    String text = new String(out, StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("%s:%n%s", String.join(" ", cmd), text).isZero();
    return text;
  }

  /** A free loopback port. */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
