package io.torus.nbd.internal;

import io.torus.nbd.NbdExport;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every connection of one server shares: the export table, the limits, the set of live
 * connections and the shutdown flag.
 *
 * <p>Concurrency: the export table and limits are immutable; the connection set is
 * concurrent; {@link #isShuttingDown()} is a volatile read.
 */
public final class ServerState {
  private final Map<String, NbdExport> exports;
  private final NbdExport defaultExport;
  private final int maxConnections;
  private final int maxInFlightRequests;
  private final long maxInFlightBytes;
  private final Duration handshakeTimeout;
  private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean shuttingDown;

  /**
   * @param exports in the order LIST shows them; the first one is also served for the
   *     empty name unless an export is named ""
   */
  public ServerState(List<NbdExport> exports, int maxConnections, int maxInFlightRequests,
      long maxInFlightBytes, Duration handshakeTimeout) {
    Map<String, NbdExport> m = new LinkedHashMap<>();
    for (NbdExport e : exports) {
      m.put(e.name(), e);
    }
    this.exports = m;
    this.defaultExport = m.containsKey("") ? m.get("") : exports.get(0);
    this.maxConnections = maxConnections;
    this.maxInFlightRequests = maxInFlightRequests;
    this.maxInFlightBytes = maxInFlightBytes;
    this.handshakeTimeout = handshakeTimeout;
  }

  /** The export a client names, the default export for "", or null if unknown. */
  NbdExport find(String name) {
    return name.isEmpty() ? defaultExport : exports.get(name);
  }

  /** Every export in LIST order. */
  public List<NbdExport> exports() {
    return List.copyOf(exports.values());
  }

  int maxConnections() {
    return maxConnections;
  }

  int maxInFlightRequests() {
    return maxInFlightRequests;
  }

  long maxInFlightBytes() {
    return maxInFlightBytes;
  }

  Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  boolean register(NbdConnection c) {
    if (shuttingDown || connections.size() >= maxConnections) {
      return false;
    }
    connections.add(c);
    return true;
  }

  void unregister(NbdConnection c) {
    connections.remove(c);
  }

  /** Live connections (handshake or transmission). */
  public Set<NbdConnection> connections() {
    return Set.copyOf(connections);
  }

  /** Whether the server is stopping: new requests get ESHUTDOWN. */
  public boolean isShuttingDown() {
    return shuttingDown;
  }

  /** Marks the server as stopping and asks every connection to wind down. */
  public void beginShutdown() {
    shuttingDown = true;
    for (NbdConnection c : connections) {
      c.shutdown();
    }
  }
}
