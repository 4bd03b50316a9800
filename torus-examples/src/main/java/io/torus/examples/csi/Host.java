package io.torus.examples.csi;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The node's operating system as the node plugin uses it: external commands with a deadline,
 * the mount table, and processes named by PID and start time (so a PID the kernel reused for
 * another process is never mistaken for ours). Stateless; thread-safe.
 */
final class Host {
  /** What a command did. */
  record Result(int exit, String output) {
    boolean ok() {
      return exit == 0;
    }
  }

  /** A process the plugin started: its PID and start time (clock ticks since boot). */
  record Pid(long pid, long startTicks) {
    /** True while this very process runs (not a later one with the same PID). */
    boolean alive() {
      return Host.startTicks(pid).map(t -> t == startTicks).orElse(false);
    }

    static Pid of(long pid) {
      return new Pid(pid, Host.startTicks(pid).orElse(-1L));
    }

    @Override
    public String toString() {
      return pid + ":" + startTicks;
    }

    static Pid parse(String s) {
      int colon = s.indexOf(':');
      return new Pid(Long.parseLong(s.substring(0, colon)),
          Long.parseLong(s.substring(colon + 1)));
    }
  }

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);

  private Host() {}

  /** Runs {@code cmd} to its end (at most 120 s; then it is killed and the result is 124). */
  static Result run(String... cmd) {
    return run(List.of(cmd));
  }

  static Result run(List<String> cmd) {
    return run(cmd, Map.of());
  }

  /**
   * Runs {@code cmd} as {@link #run(String...)} does, with {@code env} added to its environment
   * (where a secret may go: the environment of a process is readable by its user only, its
   * command line by everyone).
   */
  static Result run(List<String> cmd, Map<String, String> env) {
    Process p;
    try {
      ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      b.environment().putAll(env);
      p = b.start();
    } catch (IOException e) {
      return new Result(127, cmd.get(0) + ": " + e.getMessage());
    }
    try {
      byte[] out = p.getInputStream().readAllBytes(); // ends when the process closes it
      if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(124, "timed out: " + String.join(" ", cmd));
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip());
    } catch (IOException e) {
      p.destroyForcibly();
      return new Result(1, e.getMessage());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      return new Result(130, "interrupted: " + String.join(" ", cmd));
    }
  }

  /** Runs {@code cmd}; throws INTERNAL with its output unless it exits 0. */
  static String check(String... cmd) {
    Result r = run(cmd);
    if (!r.ok()) {
      throw CsiErrors.internal(String.join(" ", cmd) + " failed (exit " + r.exit() + "): "
          + r.output());
    }
    return r.output();
  }

  /**
   * Starts {@code cmd} in a session of its own ({@code setsid}), standard input from
   * /dev/null, output appended to {@code log}, so that it outlives the plugin: a plugin that
   * is restarted or killed leaves it running.
   */
  static Pid spawn(List<String> cmd, Path log) throws IOException {
    return spawn(cmd, log, Map.of());
  }

  /** {@link #spawn(List, Path)} with {@code env} added to the process's environment. */
  static Pid spawn(List<String> cmd, Path log, Map<String, String> env) throws IOException {
    List<String> full = new ArrayList<>();
    full.add("setsid"); // not a group leader here, so setsid execs in place: same PID
    full.addAll(cmd);
    ProcessBuilder b = new ProcessBuilder(full);
    b.environment().putAll(env);
    Process p = b
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    return Pid.of(p.pid());
  }

  /** Sends SIGTERM, waits up to {@code grace}, then SIGKILL; true if it exited in time. */
  static boolean stop(Pid pid, Duration grace) throws InterruptedException {
    Optional<ProcessHandle> h = ProcessHandle.of(pid.pid());
    if (h.isEmpty() || !pid.alive()) {
      return true;
    }
    h.get().destroy();
    long deadline = System.nanoTime() + grace.toNanos();
    while (pid.alive() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    if (!pid.alive()) {
      return true;
    }
    h.get().destroyForcibly();
    return false;
  }

  /** Field 22 of /proc/PID/stat, or empty if there is no such process. */
  static Optional<Long> startTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      if (f[0].equals("Z")) {
        return Optional.empty(); // exited, not yet reaped
      }
      return Optional.of(Long.parseLong(f[19]));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** True if {@code path} is a mount point (in /proc/self/mountinfo). */
  static boolean isMountPoint(Path path) {
    String p = path.toAbsolutePath().normalize().toString();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length > 4 && unescape(f[4]).equals(p)) {
          return true;
        }
      }
    } catch (IOException e) {
      throw CsiErrors.internal("cannot read /proc/self/mountinfo: " + e.getMessage());
    }
    return false;
  }

  /** Unmounts {@code path} while it is a mount point (stacked mounts too). */
  static void unmountAll(Path path) {
    for (int i = 0; i < 8 && isMountPoint(path); i++) {
      check("umount", path.toString());
    }
    if (isMountPoint(path)) {
      throw CsiErrors.internal("still mounted after unmounting: " + path);
    }
  }

  private static String unescape(String s) {
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
        .replace("\\134", "\\");
  }

  /** Waits up to {@code timeout} for {@code condition}; true if it held in time. */
  static boolean await(Duration timeout, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }
}
