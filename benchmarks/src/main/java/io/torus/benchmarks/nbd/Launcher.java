package io.torus.benchmarks.nbd;

import io.torus.benchmarks.TempDirs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Starts the processes of one side of a setup (servers, etcd, peers, nbdfuse, postgres) and
 * undoes everything it did when closed: processes stopped by PID (SIGTERM, then SIGKILL after
 * 30 s, children too), mounts and loop devices released, temporary directories removed, in
 * the reverse order of their making.
 *
 * <p><b>Failure and Ctrl-C.</b> Every open launcher is also closed by a JVM shutdown hook, so
 * an exception, SIGINT or SIGTERM of the harness leaves nothing behind. Undo steps that fail
 * are printed and the rest still run.
 *
 * <p><b>Concurrency.</b> One thread uses a launcher; {@link #close} may also run on the
 * shutdown hook's thread, hence synchronized.
 */
final class Launcher implements AutoCloseable {
  /** Open launchers, oldest first: the hook closes the newest (innermost) first. */
  private static final Deque<Launcher> OPEN = new java.util.concurrent.ConcurrentLinkedDeque<>();
  /** Short-lived clients (fio, nbdcopy, admin commands) running now. */
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
  private static final Set<Integer> PORTS_GIVEN = new HashSet<>();
  private static final long CLK_TCK = clockTicks();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      RUNNING.forEach(Process::destroyForcibly);
      OPEN.descendingIterator().forEachRemaining(Launcher::close);
    }, "nbd-bench-cleanup"));
  }

  /** A process this launcher started; {@code log} holds its stdout and stderr. */
  record Proc(String name, Process process, Path log) {
    long pid() {
      return process.pid();
    }
  }

  /** An undo step. */
  interface Undo {
    void run() throws Exception;
  }

  private record Step(String what, Undo undo) {}

  private final Path logDir;
  private final Deque<Step> steps = new ArrayDeque<>();
  private boolean closed;

  /** A launcher writing the logs of its processes into {@code logDir} (created). */
  Launcher(Path logDir) {
    this.logDir = logDir;
    try {
      Files.createDirectories(logDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    OPEN.addLast(this);
  }

  /** Where the logs of this launcher's processes go. */
  Path logDir() {
    return logDir;
  }

  /** Starts {@code cmd} with its output appended to {@code <logDir>/<name>.log}. */
  synchronized Proc start(String name, List<String> cmd) throws IOException {
    Path log = logDir.resolve(name + ".log");
    Files.writeString(log, "===== " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    Proc proc = new Proc(name, p, log);
    steps.push(new Step("stop " + name + " pid " + p.pid(), () -> stop(proc)));
    return proc;
  }

  /** Registers an undo step, run at {@link #close} before the steps registered earlier. */
  synchronized void onClose(String what, Undo undo) {
    steps.push(new Step(what, undo));
  }

  /** A new temporary directory under {@code parent}, removed at close. */
  Path tempDir(Path parent, String prefix) throws IOException {
    Path d = Files.createTempDirectory(parent, prefix);
    onClose("remove " + d, () -> TempDirs.delete(d));
    return d;
  }

  /**
   * Stops {@code p} by PID: SIGTERM to the process, SIGKILL to it and its descendants if it
   * has not exited 30 s later. Idempotent. Returns the exit status.
   */
  static int stop(Proc p) throws InterruptedException {
    Process pr = p.process();
    List<ProcessHandle> children = pr.descendants().toList();
    pr.destroy();
    if (!pr.waitFor(30, TimeUnit.SECONDS)) {
      System.err.println("nbd-bench: " + p.name() + " pid " + p.pid()
          + " still running 30 s after SIGTERM; killing it");
      pr.descendants().forEach(ProcessHandle::destroyForcibly);
      pr.destroyForcibly();
      pr.waitFor(10, TimeUnit.SECONDS);
    }
    children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    int rc = pr.isAlive() ? -1 : pr.exitValue();
    if (rc != 0 && rc != 143) {
      System.err.println("nbd-bench: " + p.name() + " pid " + p.pid() + " exited " + rc
          + " on SIGTERM; log " + p.log());
    }
    return rc;
  }

  /** Runs the undo steps, newest first. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    while (!steps.isEmpty()) {
      Step s = steps.pop();
      try {
        s.undo().run();
      } catch (Exception e) {
        System.err.println("nbd-bench: cleanup step '" + s.what() + "' failed: " + e);
      }
    }
    OPEN.remove(this);
  }

  /** Waits until {@code p}'s log shows {@code regex}; fails if it exits or time runs out. */
  static void awaitLog(Proc p, String regex, Duration timeout) throws Exception {
    Pattern re = Pattern.compile(regex);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (re.matcher(Files.readString(p.log())).find()) {
        return;
      }
      if (!p.process().isAlive()) {
        throw new IllegalStateException(p.name() + " exited (" + p.process().exitValue()
            + ") before '" + regex + "'; log " + p.log() + ":\n" + tail(p.log()));
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(p.name() + ": no '" + regex + "' within " + timeout
        + "; log " + p.log() + ":\n" + tail(p.log()));
  }

  /** Waits until something accepts on 127.0.0.1:{@code port}, while {@code p} runs. */
  static void awaitPort(Proc p, int port, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (!p.process().isAlive()) {
          throw new IllegalStateException(p.name() + " exited before listening on " + port
              + "; log " + p.log() + ":\n" + tail(p.log()));
        }
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException(p.name() + " not listening on " + port + " after "
        + timeout);
  }

  /**
   * Runs {@code cmd} to completion within {@code timeout}; returns its stdout and stderr.
   * Throws with the output if it fails or times out (then it and its children are killed).
   */
  static String run(List<String> cmd, Duration timeout) throws Exception {
    Path out = Files.createTempFile("nbd-bench-", ".out");
    try {
      Process p = track(new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new IllegalStateException("timed out after " + timeout + ": " + cmd + "\n"
            + Files.readString(out));
      }
      String s = Files.readString(out);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("failed (" + p.exitValue() + "): " + cmd + "\n" + s);
      }
      return s;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /**
   * Registers a short-lived client process, killed if the harness stops before it exits;
   * forgotten when it exits.
   */
  static Process track(Process p) {
    RUNNING.add(p);
    p.onExit().thenRun(() -> RUNNING.remove(p));
    return p;
  }

  /** A free loopback TCP port, never one this JVM handed out before. */
  static synchronized int freePort() throws IOException {
    while (true) {
      try (ServerSocket s = new ServerSocket(0, 1,
          java.net.InetAddress.getLoopbackAddress())) {
        if (PORTS_GIVEN.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      }
    }
  }

  /**
   * User plus system CPU time of {@code pid} in seconds, from {@code /proc/PID/stat} (fields
   * 14 and 15, in clock ticks), or NaN if the process is gone.
   */
  static double cpuSeconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // comm (field 2) may hold spaces and parentheses: fields 3.. follow the last ')'
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLK_TCK;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }



  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  private static long clockTicks() {
    try {
      return Long.parseLong(run(List.of("getconf", "CLK_TCK"), Duration.ofSeconds(10)).trim());
    } catch (Exception e) {
      return 100;
    }
  }
}
