package io.torus.fault;

import io.torus.fault.History.Op;
import io.torus.fault.History.Outcome;
import io.torus.fault.History.Read;
import io.torus.fault.History.Session;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a {@link History} against what Torus promises (the rule is stated in
 * {@code src-docs/reliability.md}, "What is promised").
 *
 * <p>Definitions, per block {@code b} and verification read {@code R} (a fresh read-only
 * handle opened in {@code [R.openStart, R.openEnd]}):
 * <ul>
 *   <li>Sessions are ordered by when their open (the write lock) completed.
 *   <li>A write {@code d} to {@code b} is <em>durable at R</em> if it completed ok and either
 *       it carried FUA and completed before {@code R.openStart}, or a flush of the same
 *       session sent after it (program order) completed ok before {@code R.openStart}.
 *   <li>A value {@code c} (a write, or zeros) <em>precedes</em> a write {@code d} if {@code c}
 *       is zeros, or {@code c} is of the same session and earlier in program order, or of an
 *       earlier session.
 *   <li>A write {@code c} <em>may be committed at R</em> if it was sent before
 *       {@code R.openEnd} and it carried FUA, or a flush (or FUA write) of its session was sent
 *       after it and before {@code R.openEnd}, whatever that flush's outcome.
 * </ul>
 * Then {@code R} must return zeros or the payload of a write {@code c} to {@code b} that may be
 * committed at R and precedes no write durable at R. Otherwise: {@code GARBAGE} (bytes no write
 * produced), {@code NEVER_WRITTEN} (a valid payload of a write not sent to {@code b}),
 * {@code UNCOMMITTED} (a write no flush covered), {@code LOST_ACKED} (zeros, or a value older
 * than a durable write: an acknowledged write was lost). A verification read that failed after
 * the cluster healed and the bounded retries ran out is {@code UNREADABLE}.
 *
 * <p>Fencing: a flush (or FUA write) of session A that completed ok although it began, as the
 * writer process saw it, after a later session B's open had completed is
 * {@code FENCED_ACK}: A's lock was already void, so the commit must have been refused.
 *
 * <p>Pure: no I/O, no clocks. Not thread-safe (use one per check).
 */
public final class FaultChecker {

  /** A broken promise. */
  public record Violation(Kind kind, int block, String phase, String message,
      List<String> tokens) {
    @Override
    public String toString() {
      return kind + (block >= 0 ? " block " + block : "") + (phase != null ? " [" + phase + "]"
          : "") + ": " + message;
    }
  }

  /** What was broken. */
  public enum Kind { GARBAGE, NEVER_WRITTEN, UNCOMMITTED, LOST_ACKED, UNREADABLE, FENCED_ACK }

  private final History h;
  private final long volumeId;
  private final Map<Integer, Integer> order = new HashMap<>();
  private final Map<Integer, List<Op>> bySession = new HashMap<>();
  private final Map<Long, Op> byOp = new HashMap<>();

  public FaultChecker(History h, long volumeId) {
    this.h = h;
    this.volumeId = volumeId;
    List<Session> opened = new ArrayList<>();
    for (Session s : h.sessions()) {
      if (s.opened) {
        opened.add(s);
      }
    }
    opened.sort(Comparator.comparingLong(s -> s.openEnd));
    for (int i = 0; i < opened.size(); i++) {
      order.put(opened.get(i).writer, i);
    }
    for (Op o : h.ops()) {
      bySession.computeIfAbsent(o.writer, w -> new ArrayList<>()).add(o);
      if (!o.flush) {
        byOp.put(o.op, o);
      }
    }
    bySession.values().forEach(l -> l.sort(Comparator.comparingLong(o -> o.op)));
  }

  /** Every violation in the history; empty if it keeps the promise. */
  public List<Violation> check() {
    List<Violation> out = new ArrayList<>();
    for (Read r : h.reads()) {
      Violation v = checkRead(r);
      if (v != null) {
        out.add(v);
      }
    }
    out.addAll(checkFencing());
    return out;
  }

  private Violation checkRead(Read r) {
    int b = r.block();
    if (r.error() != null) {
      return new Violation(Kind.UNREADABLE, b, r.phase(), "no read succeeded after the cluster "
          + "healed: " + r.error(), List.of());
    }
    Payload.Value v = r.value();
    Op c = null;
    if (v instanceof Payload.Garbage g) {
      return new Violation(Kind.GARBAGE, b, r.phase(), g.why(), List.of());
    }
    if (v instanceof Payload.Written w) {
      c = byOp.get(w.op());
      if (c == null || c.writer != w.writer() || c.block != b) {
        return new Violation(Kind.NEVER_WRITTEN, b, r.phase(), "read " + w + ", which was "
            + (c == null ? "never sent" : "sent to block " + c.block + " by w" + c.writer),
            List.of("op" + w.op()));
      }
      if (!mayBeCommitted(c, r.openEnd())) {
        return new Violation(Kind.UNCOMMITTED, b, r.phase(), "read " + w + " (" + c.describe(
            h.start()) + ") but no flush of w" + c.writer + " was sent after it before the "
            + "reader opened", List.of("op" + c.op));
      }
    }
    Op newest = null;
    for (Op d : durableWrites(b, r.openStart())) {
      if ((c == null || precedes(c, d)) && (newest == null || precedes(newest, d))) {
        newest = d;
      }
    }
    if (newest != null) {
      Op f = ackingFlush(newest, r.openStart());
      return new Violation(Kind.LOST_ACKED, b, r.phase(), "read " + v + (c != null ? " ("
          + c.describe(h.start()) + ")" : "") + " but " + newest.describe(h.start())
          + " was made durable by " + (f == null ? "its FUA" : f.describe(h.start()))
          + " before the reader opened at " + History.ms(r.openStart() - h.start()),
          tokens(c, newest, f));
    }
    return null;
  }

  private static List<String> tokens(Op... ops) {
    List<String> t = new ArrayList<>();
    for (Op o : ops) {
      if (o != null) {
        t.add("w" + o.writer + "/op" + o.op);
      }
    }
    return t;
  }

  private List<Op> durableWrites(int block, long before) {
    List<Op> out = new ArrayList<>();
    for (Op d : h.ops()) {
      if (!d.flush && d.block == block && d.outcome == Outcome.OK
          && order.containsKey(d.writer)
          && (d.fua && d.complete < before || ackingFlush(d, before) != null)) {
        out.add(d);
      }
    }
    return out;
  }

  /** The first ok flush after {@code d} in its session that completed before {@code before}. */
  private Op ackingFlush(Op d, long before) {
    for (Op f : bySession.getOrDefault(d.writer, List.of())) {
      if (f.flush && f.op > d.op && f.outcome == Outcome.OK && f.complete < before) {
        return f;
      }
    }
    return null;
  }

  private boolean mayBeCommitted(Op c, long openEnd) {
    if (c.invoke > openEnd) {
      return false;
    }
    if (c.fua) {
      return true;
    }
    for (Op f : bySession.getOrDefault(c.writer, List.of())) {
      if ((f.flush || f.fua) && f.op > c.op && f.invoke < openEnd) {
        return true;
      }
    }
    return false;
  }

  private boolean precedes(Op c, Op d) {
    if (c.writer == d.writer) {
      return c.op < d.op;
    }
    Integer oc = order.get(c.writer);
    Integer od = order.get(d.writer);
    return oc != null && od != null && oc < od;
  }

  private List<Violation> checkFencing() {
    List<Violation> out = new ArrayList<>();
    for (Op f : h.ops()) {
      if (f.outcome != Outcome.OK || !(f.flush || f.fua) || !order.containsKey(f.writer)) {
        continue;
      }
      for (Session s : h.sessions()) {
        if (s.opened && order.get(s.writer) > order.get(f.writer) && s.openEnd < f.start()) {
          out.add(new Violation(Kind.FENCED_ACK, f.block, null, f.describe(h.start())
              + " was acknowledged although w" + s.writer + " had taken the volume over at "
              + History.ms(s.openEnd - h.start()) + " (epoch " + s.epoch + ")",
              tokens(f)));
          break;
        }
      }
    }
    return out;
  }
}
