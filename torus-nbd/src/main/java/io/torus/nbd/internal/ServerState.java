package io.torus.nbd.internal;

import io.torus.nbd.NbdExport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every connection of one server shares: the export table, the limits, the in-flight
 * byte budget, the table of live connections and the shutdown flag; and the two policies that
 * keep slow or hostile clients from exhausting the server.
 *
 * <p><b>Eviction instead of refusal.</b> When a connection arrives with
 * {@code maxConnections} open, the server closes a parked one to make room, in this order:
 * the oldest connection still in the handshake; then the one whose partly received request
 * has gone longest without a byte (at least the stall grace); then the transmission
 * connection idle for longest (nothing in flight, nothing buffered). A connection with
 * requests in flight is never evicted; only if every connection has some is the newcomer
 * refused.
 *
 * <p><b>Sweep.</b> {@link #sweep()} runs a few times a second. It closes connections past
 * the handshake timeout, those whose partial request (or unread replies) exceeded the read
 * timeout, and, if enabled, those idle past the idle timeout. While some connection waits
 * for budget and the budget takes no more input, it also evicts connections that hold budget
 * but have stalled by their client's fault for at least the stall grace (oldest first, until
 * about one maximum payload is free).
 *
 * <p><b>Concurrency.</b> Limits and exports are immutable; the connection table is
 * concurrent and admission is serialised by this object's lock. Decisions read each
 * connection's volatile snapshot, so a connection may change state between the decision and
 * its close; a victim that became busy meanwhile is closed anyway (its client sees a dropped
 * connection and its in-flight replies are lost, as for any disconnect).
 */
public final class ServerState {
  private static final Logger LOG = LoggerFactory.getLogger(ServerState.class);
  private static final Duration LOG_INTERVAL = Duration.ofSeconds(1);

  private final Map<String, NbdExport> exports;
  private final NbdExport defaultExport;
  private final ServerLimits limits;
  private final InFlightBudget budget;
  private final LongSupplier nanoTime;
  private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
  private final Map<String, RateLimitedLog> errorLogs = new ConcurrentHashMap<>();
  private final RateLimitedLog evictionLog;
  private final RateLimitedLog tlsLog;
  private final ServerTls tls;
  private final AtomicLong evictions = new AtomicLong();
  private final AtomicLong timeouts = new AtomicLong();
  private final AtomicLong refusals = new AtomicLong();
  private volatile boolean shuttingDown;

  /**
   * @param exports in the order LIST shows them; the first one is also served for the
   *     empty name unless an export is named ""
   * @param nanoTime the clock of every timeout, as {@link System#nanoTime()}
   */
  public ServerState(List<NbdExport> exports, ServerLimits limits, LongSupplier nanoTime) {
    this(exports, limits, null, nanoTime);
  }

  /**
   * @param exports in the order LIST shows them; the first one is also served for the
   *     empty name unless an export is named ""
   * @param tls the STARTTLS settings, or null if TLS is not offered
   * @param nanoTime the clock of every timeout, as {@link System#nanoTime()}
   */
  public ServerState(List<NbdExport> exports, ServerLimits limits, ServerTls tls,
      LongSupplier nanoTime) {
    Map<String, NbdExport> m = new LinkedHashMap<>();
    for (NbdExport e : exports) {
      m.put(e.name(), e);
    }
    this.exports = m;
    this.defaultExport = m.containsKey("") ? m.get("") : exports.get(0);
    this.limits = limits;
    this.budget = new InFlightBudget(limits.maxTotalInFlightBytes());
    this.nanoTime = nanoTime;
    this.evictionLog = new RateLimitedLog(LOG, LOG_INTERVAL, nanoTime);
    this.tlsLog = new RateLimitedLog(LoggerFactory.getLogger(NbdConnection.class),
        LOG_INTERVAL, nanoTime);
    this.tls = tls;
  }

  /** The STARTTLS settings, or null if TLS is not offered. */
  ServerTls tls() {
    return tls;
  }

  /** The rate-limited WARN log of failed TLS handshakes. */
  RateLimitedLog tlsLog() {
    return tlsLog;
  }

  /** The export a client names, the default export for "", or null if unknown. */
  NbdExport find(String name) {
    return name.isEmpty() ? defaultExport : exports.get(name);
  }

  /** Every export in LIST order. */
  public List<NbdExport> exports() {
    return List.copyOf(exports.values());
  }

  ServerLimits limits() {
    return limits;
  }

  InFlightBudget budget() {
    return budget;
  }

  long now() {
    return nanoTime.getAsLong();
  }

  /** The rate-limited WARN log of error replies sent on {@code export}. */
  RateLimitedLog errorLog(String export) {
    return errorLogs.computeIfAbsent(export,
        e -> new RateLimitedLog(LoggerFactory.getLogger(CommandHandler.class), LOG_INTERVAL,
            nanoTime));
  }

  /** Bytes held for clients now, against {@link ServerLimits#maxTotalInFlightBytes()}. */
  public long inFlightBytes() {
    return budget.used();
  }

  /** The largest {@link #inFlightBytes()} since the server started. */
  public long peakInFlightBytes() {
    return budget.peak();
  }

  /** Connections closed to make room (connection limit or budget). */
  public long evictions() {
    return evictions.get();
  }

  /** Connections closed by the handshake, read or idle timeout. */
  public long timeouts() {
    return timeouts.get();
  }

  /** Connections refused because every open one was busy. */
  public long refusals() {
    return refusals.get();
  }

  /**
   * Admits a new connection, evicting a parked one if the table is full.
   *
   * @return false if the server is stopping or every open connection is busy
   */
  synchronized boolean admit(NbdConnection c) {
    if (shuttingDown) {
      return false;
    }
    if (connections.size() >= limits.maxConnections()) {
      NbdConnection victim = victim(now());
      if (victim == null) {
        refusals.incrementAndGet();
        evictionLog.warn("NBD connection limit (" + limits.maxConnections()
            + ") reached and every connection is busy: refusing " + c.remote(), null);
        return false;
      }
      connections.remove(victim);
      String why = describe(victim, now());
      if (victim.evict("connection limit")) {
        evictions.incrementAndGet();
        evictionLog.warn("NBD connection limit (" + limits.maxConnections() + ") reached:"
            + " evicted " + why + " to serve " + c.remote(), null);
      }
    }
    connections.add(c);
    return true;
  }

  /** The connection to evict for a newcomer, or null: see the class doc for the order. */
  private NbdConnection victim(long now) {
    long grace = limits.stallGrace().toNanos();
    NbdConnection handshake = null;
    NbdConnection stalled = null;
    NbdConnection idle = null;
    for (NbdConnection c : connections) {
      if (c.isInHandshake()) {
        if (handshake == null || c.connectedAt() < handshake.connectedAt()) {
          handshake = c;
        }
      } else if (!c.isInTransmission() || c.inFlightCount() > 0) {
        continue;
      } else if (c.hasPartialInput()) {
        if (now - c.lastInput() >= grace
            && (stalled == null || c.lastInput() < stalled.lastInput())) {
          stalled = c;
        }
      } else if (!c.hasUnsentReplies()
          && (idle == null || c.lastActivity() < idle.lastActivity())) {
        idle = c;
      }
    }
    return handshake != null ? handshake : stalled != null ? stalled : idle;
  }

  void unregister(NbdConnection c) {
    connections.remove(c);
  }

  /** Live connections (handshake or transmission). */
  public Set<NbdConnection> connections() {
    return Set.copyOf(connections);
  }

  /** Applies the timeouts and, under budget pressure, evicts stalled holders. Any thread. */
  public void sweep() {
    long now = now();
    long handshake = limits.handshakeTimeout().toNanos();
    long read = limits.readTimeout().toNanos();
    long idle = limits.idleTimeoutEnabled() ? limits.idleTimeout().toNanos() : Long.MAX_VALUE;
    for (NbdConnection c : connections) {
      String why = null;
      if (c.isInHandshake()) {
        if (now - c.connectedAt() > handshake) {
          why = "handshake timeout";
        }
      } else if (!c.isInTransmission()) {
        continue;
      } else if (isReadingStalled(c, now, read)) {
        why = "read timeout: partial request";
      } else if (isReplyStalled(c, now, read)) {
        why = "read timeout: client does not read replies";
      } else if (c.inFlightCount() == 0 && !c.hasPartialInput()
          && now - c.lastActivity() > idle) {
        why = "idle timeout";
      }
      if (why != null && c.evict(why)) {
        timeouts.incrementAndGet();
      }
    }
    if (budget.hasWaiters() && budget.inputFull()) {
      reclaim(now);
    }
  }

  /** Evicts stalled budget holders, oldest first, until about one payload is free. */
  private void reclaim(long now) {
    long grace = limits.stallGrace().toNanos();
    List<NbdConnection> stalled = new ArrayList<>();
    for (NbdConnection c : connections) {
      if (c.isInTransmission() && c.heldBytes() > 0
          && (isReadingStalled(c, now, grace) || isReplyStalled(c, now, grace))) {
        stalled.add(c);
      }
    }
    stalled.sort(Comparator.comparingLong(ServerState::stalledSince));
    long needed = budget.inputExcess() + Nbd.MAX_PAYLOAD;
    for (NbdConnection c : stalled) {
      if (needed <= 0) {
        break;
      }
      long held = c.heldBytes();
      String why = describe(c, now);
      if (c.evict("stalled under memory pressure")) {
        evictions.incrementAndGet();
        needed -= held;
        evictionLog.warn("NBD in-flight bytes at the limit (" + budget.used() + " of "
            + budget.cap() + ", " + budget.receiving() + " receiving): evicted " + why, null);
      }
    }
  }

  /** Whether the server is stopping: new requests get ESHUTDOWN. */
  public boolean isShuttingDown() {
    return shuttingDown;
  }

  /** Marks the server as stopping and asks every connection to wind down. */
  public void beginShutdown() {
    synchronized (this) {
      shuttingDown = true;
    }
    for (NbdConnection c : connections) {
      c.shutdown();
    }
  }

  // Judgments on a connection's snapshot, which other threads update meanwhile.

  /** A partial request, read from the socket, got no byte for more than {@code nanos}. */
  private static boolean isReadingStalled(NbdConnection c, long now, long nanos) {
    return c.hasPartialInput() && c.isReading() && now - c.lastInput() > nanos;
  }

  /** Replies have waited for the client to read them for more than {@code nanos}. */
  private static boolean isReplyStalled(NbdConnection c, long now, long nanos) {
    long since = c.unwritableSince();
    return since != 0 && now - since > nanos;
  }

  /** When the stall (of input or of replies) began, for oldest-first ordering. */
  private static long stalledSince(NbdConnection c) {
    long since = c.unwritableSince();
    return since != 0 && (!c.hasPartialInput() || since < c.lastInput()) ? since
        : c.lastInput();
  }

  /** A one-line description of {@code c} for eviction logs. */
  private static String describe(NbdConnection c, long now) {
    String state = c.isInHandshake() ? "mid-handshake"
        : c.hasPartialInput() ? "stalled partial request, nothing for "
            + Math.max(0, (now - c.lastInput()) / 1_000_000) + " ms,"
        : c.inFlightCount() > 0 ? "busy" : "idle";
    return state + " connection from " + c.remote() + " ("
        + (now - c.connectedAt()) / 1_000_000 + " ms old, " + c.heldBytes() + " bytes held)";
  }
}
