package io.torus.fault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What happened in one fault run, in the order the driver saw it: writer sessions (a writer
 * process that opened the volume for writing), their operations (invocation and completion
 * with an outcome: ok, fail, or unknown while no reply came), verification reads and faults.
 *
 * <p>Times are {@link System#nanoTime()} values. On Linux that is {@code CLOCK_MONOTONIC},
 * shared by every process on the machine, so the times a writer process reports for itself
 * (when it began a flush) compare with the driver's. A writer's operations are executed in
 * the order they were sent (a writer process runs one command at a time), so the operation
 * id order within a session is its program order.
 *
 * <p>Thread-safe: every method synchronizes on the history.
 */
public final class History {
  /** Outcome of an operation. */
  public enum Outcome { PENDING, OK, FAIL }

  /** A writer session: one process's write lock on the volume. */
  public static final class Session {
    public final int writer;
    public final String kind;
    public final long openStart;
    public long openEnd = -1;
    public long epoch = -1;
    public boolean opened;

    Session(int writer, String kind, long openStart) {
      this.writer = writer;
      this.kind = kind;
      this.openStart = openStart;
    }
  }

  /** A write or a flush. */
  public static final class Op {
    public final int writer;
    public final long op;
    public final boolean flush;
    public final int block;
    public final boolean fua;
    public final long invoke;
    /** When the writer process began the operation (its own clock), or -1 if not known. */
    public long childStart = -1;
    public long complete = -1;
    public Outcome outcome = Outcome.PENDING;
    public String error;

    Op(int writer, long op, boolean flush, int block, boolean fua, long invoke) {
      this.writer = writer;
      this.op = op;
      this.flush = flush;
      this.block = block;
      this.fua = fua;
      this.invoke = invoke;
    }

    /** When the operation could first have taken effect. */
    public long start() {
      return childStart >= 0 ? Math.max(childStart, invoke) : invoke;
    }

    /** One line, times in seconds since {@code origin} (a nanoTime). */
    public String describe(long origin) {
      return (flush ? "flush" : fua ? "write+fua" : "write") + " w" + writer + "/op" + op
          + (flush ? "" : " block " + block) + " invoked " + ms(invoke - origin)
          + (childStart >= 0 ? " started " + ms(childStart - origin) : "")
          + " " + outcome + (complete >= 0 ? " at " + ms(complete - origin) : "")
          + (error != null ? " (" + error + ")" : "");
    }

    @Override
    public String toString() {
      return describe(0);
    }
  }

  /** One block read by a fresh read-only handle after a fault window healed. */
  public record Read(String phase, int block, long openStart, long openEnd, long at,
      Payload.Value value, String error) {}

  /** One fault window. */
  public record Fault(String kind, String target, long start, long end, String detail) {}

  private final List<Session> sessions = new ArrayList<>();
  private final List<Op> ops = new ArrayList<>();
  private final List<Read> reads = new ArrayList<>();
  private final List<Fault> faults = new ArrayList<>();
  private final List<String> log = new ArrayList<>();
  private final long start;

  /** An empty history whose times print relative to {@code start} (a nanoTime). */
  public History(long start) {
    this.start = start;
  }

  /** An empty history for hand-made tests: times print as given. */
  public History() {
    this(0);
  }

  /** A writer session began opening the volume. */
  public synchronized Session openInvoked(int writer, String kind, long at) {
    Session s = new Session(writer, kind, at);
    sessions.add(s);
    line(at, "open-invoke w" + writer + " (" + kind + ")");
    return s;
  }

  /** The session holds the write lock (the volume's fencing epoch, -1 if not observed). */
  public synchronized void opened(Session s, long at, long epoch) {
    s.openEnd = at;
    s.epoch = epoch;
    s.opened = true;
    line(at, "open-ok w" + s.writer + " epoch " + epoch);
  }

  /** The session could not open. */
  public synchronized void openFailed(Session s, long at, String why) {
    s.openEnd = at;
    line(at, "open-fail w" + s.writer + " " + why);
  }

  /** A write was sent to writer {@code writer}. */
  public synchronized Op writeInvoked(int writer, long op, int block, boolean fua, long at) {
    Op o = new Op(writer, op, false, block, fua, at);
    ops.add(o);
    line(at, "invoke " + (fua ? "write+fua" : "write") + " w" + writer + "/op" + op
        + " block " + block);
    return o;
  }

  /** A flush was sent to writer {@code writer}. */
  public synchronized Op flushInvoked(int writer, long op, long at) {
    Op o = new Op(writer, op, true, -1, false, at);
    ops.add(o);
    line(at, "invoke flush w" + writer + "/op" + op);
    return o;
  }

  /** The writer answered {@code o} (possibly long after the driver stopped waiting). */
  public synchronized void completed(Op o, long at, long childStart, boolean ok, String error) {
    if (o.outcome != Outcome.PENDING) {
      return;
    }
    o.complete = at;
    o.childStart = childStart;
    o.outcome = ok ? Outcome.OK : Outcome.FAIL;
    o.error = error;
    line(at, (ok ? "ok " : "fail ") + (o.flush ? "flush" : "write") + " w" + o.writer + "/op"
        + o.op + (childStart >= 0 ? " started " + ms(childStart - start) : "")
        + (error != null ? " " + error : ""));
  }

  /** A verification read. */
  public synchronized void read(Read r) {
    reads.add(r);
    line(r.at(), "read " + r.phase() + " block " + r.block() + " -> "
        + (r.error() != null ? "ERROR " + r.error() : r.value()) + " (handle opened "
        + ms(r.openStart() - start) + ".." + ms(r.openEnd() - start) + ")");
  }

  /** A fault window (already healed). */
  public synchronized void fault(Fault f) {
    faults.add(f);
    line(f.end(), "fault " + f.kind() + " " + f.target() + " from " + ms(f.start() - start)
        + " healed " + ms(f.end() - start) + (f.detail().isEmpty() ? "" : " " + f.detail()));
  }

  /** A free-form note (fault steps, retries, observations). */
  public synchronized void note(long at, String text) {
    line(at, text);
  }

  private void line(long at, String text) {
    log.add(String.format("%10.3f %s", (at - start) / 1e9, text));
  }

  public synchronized List<Session> sessions() {
    return List.copyOf(sessions);
  }

  public synchronized List<Op> ops() {
    return List.copyOf(ops);
  }

  public synchronized List<Read> reads() {
    return List.copyOf(reads);
  }

  public synchronized List<Fault> faults() {
    return List.copyOf(faults);
  }

  /** The driver's log lines so far. */
  public synchronized List<String> lines() {
    return List.copyOf(log);
  }

  /** The start (nanoTime) times print relative to. */
  public long start() {
    return start;
  }

  /** Writes the whole log, then every operation as it ended up, to {@code file}. */
  public synchronized void dump(Path file, List<String> header) {
    List<String> out = new ArrayList<>(header);
    out.add("--- log (seconds since start) ---");
    out.addAll(log);
    out.add("--- operations as they ended up ---");
    for (Op o : ops) {
      out.add(o.describe(start));
    }
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Lines of the log that mention {@code block} or a write to it, around time {@code at}. */
  public synchronized List<String> excerpt(int block, List<String> tokens) {
    List<String> out = new ArrayList<>();
    String b = "block " + block + " ";
    String b2 = "block " + block;
    for (String l : log) {
      boolean hit = l.contains(b) || l.endsWith(b2) || l.contains(" fault ")
          || l.contains("open-");
      for (String t : tokens) {
        hit |= l.contains(t + " ") || l.endsWith(t);
      }
      if (hit) {
        out.add(l);
      }
    }
    return out;
  }

  static String ms(long nanos) {
    return String.format("%.3fs", nanos / 1e9);
  }
}
