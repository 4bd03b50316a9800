package io.torus.fault;

import io.torus.fault.History.Op;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The driver's side of one writer process ({@link WriterMain}, or any main class speaking its
 * line protocol, such as the NBD writer of the long run): sends commands, records each one's
 * invocation and completion in the {@link History} (a reply that comes after the driver
 * stopped waiting is still recorded, at the time it came), and pauses, resumes and kills the
 * process by its PID.
 *
 * <p>Thread-safety: {@link #write} and {@link #flush} are called by one workload thread at a
 * time; the fault methods by the fault thread.
 */
final class WriterProcess implements AutoCloseable {
  final int writer;
  final String kind;
  final History.Session session;
  private final History history;
  private final Process process;
  private final OutputStream stdin;
  private final Map<Long, Op> pending = new ConcurrentHashMap<>();
  private final Map<Long, CompletableFuture<Void>> waits = new ConcurrentHashMap<>();
  private final CompletableFuture<String> open = new CompletableFuture<>();
  private volatile int fencedReplies;
  private volatile boolean fencedNotice;
  private volatile boolean paused;

  /** Fenced-writer failures (the writer can never commit again). */
  static boolean isFenced(String error) {
    return error != null && (error.startsWith("LeaseLostException")
        || error.startsWith("ConcurrentUpdateException")
        || error.startsWith("StaleEpochException") || error.startsWith("TorusClosedException"));
  }

  WriterProcess(History history, int writer, String kind, String mainClass,
      List<String> jvmOptions, List<String> args, Path log) throws IOException {
    this.history = history;
    this.writer = writer;
    this.kind = kind;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    this.session = history.openInvoked(writer, kind, System.nanoTime());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile());
    pb.environment().put("PATH", "/usr/bin:" + System.getenv().getOrDefault("PATH", "/bin"));
    this.process = pb.start();
    this.stdin = process.getOutputStream();
    Thread t = new Thread(this::readReplies, "fault-writer-" + writer);
    t.setDaemon(true);
    t.start();
  }

  /** Waits (bounded) for the open; returns the OPEN line's fields, or throws with the reason. */
  String[] awaitOpen(long seconds, EtcdProbe probe) throws Exception {
    String line;
    try {
      line = open.get(seconds, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      history.openFailed(session, System.nanoTime(), "no answer in " + seconds + " s");
      throw new IllegalStateException("writer w" + writer + " did not open within " + seconds
          + " s");
    }
    long at = System.nanoTime();
    if (!line.startsWith("OPEN ")) {
      history.openFailed(session, at, line);
      throw new IllegalStateException("writer w" + writer + ": " + line);
    }
    history.opened(session, at, probe.lockEpoch());
    return line.split(" ");
  }

  private void readReplies() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        long at = System.nanoTime();
        if (line.startsWith("OPEN")) {
          open.complete(line);
          continue;
        }
        if (line.startsWith("FENCED")) { // the NBD writer's node says its volume is fenced
          fencedNotice = true;
          history.note(at, "w" + writer + " says: " + line);
          continue;
        }
        String[] f = line.split(" ", 4);
        if (f.length < 3 || !(f[0].equals("OK") || f[0].equals("FAIL"))) {
          history.note(at, "w" + writer + " says: " + line);
          continue;
        }
        long op = Long.parseLong(f[1]);
        Op o = pending.remove(op);
        if (o == null) {
          continue;
        }
        boolean ok = f[0].equals("OK");
        String error = ok ? null : f.length > 3 ? f[3] : "?";
        history.completed(o, at, Long.parseLong(f[2]), ok, error);
        if (isFenced(error)) {
          fencedReplies++;
        }
        CompletableFuture<Void> w = waits.remove(op);
        if (w != null) {
          w.complete(null);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the process ended
    } finally {
      open.complete("OPENFAIL process ended");
    }
  }

  /** Sends a write and waits up to {@code timeoutMillis} for its reply. */
  Op write(long op, int block, boolean fua, long timeoutMillis) {
    Op o = history.writeInvoked(writer, op, block, fua, System.nanoTime());
    send(o, "W " + op + " " + block + (fua ? " 1" : " 0"), timeoutMillis);
    return o;
  }

  /** Sends a flush and waits up to {@code timeoutMillis} for its reply. */
  Op flush(long op, long timeoutMillis) {
    Op o = history.flushInvoked(writer, op, System.nanoTime());
    send(o, "F " + op, timeoutMillis);
    return o;
  }

  private void send(Op o, String line, long timeoutMillis) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    pending.put(o.op, o);
    waits.put(o.op, done);
    try {
      stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
      done.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      // stays pending: a later reply is still recorded
    } catch (Exception e) {
      history.note(System.nanoTime(), "w" + writer + " op" + o.op + " not sent: " + e);
    } finally {
      waits.remove(o.op);
    }
  }

  /**
   * Replies saying this writer is fenced; at least 3 once the writer said {@code FENCED} (an
   * NBD writer, whose replies carry only an errno, says so on a line of its own).
   */
  int fencedReplies() {
    return fencedNotice ? Math.max(3, fencedReplies) : fencedReplies;
  }

  boolean alive() {
    return process.isAlive();
  }

  boolean paused() {
    return paused;
  }

  long pid() {
    return process.pid();
  }

  void pause() throws Exception {
    signal("STOP");
    paused = true;
  }

  void resume() throws Exception {
    signal("CONT");
    paused = false;
  }

  private void signal(String sig) throws Exception {
    if (!process.isAlive()) {
      return;
    }
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start();
    if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
      throw new IllegalStateException("kill -" + sig + " " + process.pid() + " failed");
    }
  }

  /**
   * Kills the process and its children ({@code SIGKILL}, after {@code SIGCONT} if paused) and
   * waits for it.
   */
  @Override
  public void close() {
    if (paused) {
      try {
        resume();
      } catch (Exception e) {
        // killed below anyway
      }
    }
    // Children first (the NBD writer's client), by PID, while they are still its children.
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      stdin.close();
    } catch (IOException e) {
      // already gone
    }
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
