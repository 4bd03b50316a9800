package io.torus.nbd;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the external NBD clients the integration tests use. A missing tool fails the test with
 * the command that installs it; every process is bounded by a timeout and killed (with its
 * descendants, by PID) when it overruns.
 */
final class Tools {
  static final String INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get"
      + " install -y libnbd-bin python3-libnbd nbdkit qemu-utils fio fuse3";

  private Tools() {}

  /** The result of a finished process. */
  record Result(int exit, String out, String err) {
    Result ok() {
      if (exit != 0) {
        fail("exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err);
      }
      return this;
    }
  }

  /** Absolute path of a tool, or a test failure naming the package to install. */
  static String require(String tool) {
    for (String dir : new String[] {"/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return fail("required tool '" + tool + "' is not installed; install it with: " + INSTALL);
  }

  /** Runs {@code cmd} (first element a tool name) with a timeout; never throws on exit code. */
  static Result run(Duration timeout, String... cmd) throws IOException, InterruptedException {
    return run(timeout, Map.of(), null, cmd);
  }

  /** Runs {@code cmd} with extra environment and optional stdin text. */
  static Result run(Duration timeout, Map<String, String> env, String stdin, String... cmd)
      throws IOException, InterruptedException {
    Process p = start(env, stdin, cmd);
    Path out = outFile(p);
    Path err = errFile(p);
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        fail("timed out after " + timeout + ": " + String.join(" ", cmd) + "\nstdout:\n"
            + read(out) + "\nstderr:\n" + read(err));
      }
      return new Result(p.exitValue(), read(out), read(err));
    } finally {
      kill(p);
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static final Map<Process, Path[]> FILES = new java.util.concurrent.ConcurrentHashMap<>();

  /** Marker for {@link #start}: leave the process's stdin as an open pipe. */
  static final String PIPE = new String("<pipe>");

  /**
   * Starts a background process whose output goes to temp files; {@code stdin} is written and
   * closed, null means /dev/null, {@link #PIPE} leaves the pipe open for the caller.
   */
  static Process start(Map<String, String> env, String stdin, String... cmd) throws IOException {
    List<String> c = new ArrayList<>(List.of(cmd));
    c.set(0, require(cmd[0]));
    Path out = Files.createTempFile("nbd-it-", ".out");
    Path err = Files.createTempFile("nbd-it-", ".err");
    ProcessBuilder pb = new ProcessBuilder(c).redirectOutput(out.toFile())
        .redirectError(err.toFile());
    pb.environment().put("PATH", "/usr/bin:/usr/sbin:/bin:/sbin:" + System.getenv("PATH"));
    pb.environment().putAll(env);
    if (stdin == null) {
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    Process p = pb.start();
    if (stdin != null && stdin != PIPE) {
      try (var os = p.getOutputStream()) {
        os.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    FILES.put(p, new Path[] {out, err});
    return p;
  }

  static Path outFile(Process p) {
    return FILES.get(p)[0];
  }

  static Path errFile(Process p) {
    return FILES.get(p)[1];
  }

  static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.ISO_8859_1) : "";
  }

  /** Kills a process and its descendants by PID and waits for them (bounded). */
  static void kill(Process p) throws InterruptedException {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    p.waitFor(10, TimeUnit.SECONDS);
  }

  /** Runs an nbdsh (Python) script against {@code uri}; output is the script's prints. */
  static Result nbdsh(Duration timeout, String uri, String script)
      throws IOException, InterruptedException {
    require("nbdsh");
    if (!Files.exists(Path.of("/usr/lib/python3/dist-packages/nbd.py"))) {
      fail("nbdsh needs the python3 libnbd module; install it with: " + INSTALL);
    }
    return run(timeout, Map.of("PATH", "/usr/bin:/bin"), null,
        "nbdsh", "-u", uri, "-c", script);
  }
}
