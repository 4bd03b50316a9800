package io.torus.internal.transport;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The peer server's admission control: how many requests and bytes may be in flight (read
 * and not yet answered on the wire), in total and per connection.
 *
 * <p>A request is admitted when the server is under its request and byte caps and its
 * connection under its own request and byte caps; its cost (request bytes, plus its reply's bytes once
 * known) is held until the reply is written or dropped. So one connection (a peer that floods
 * puts, or never reads its answers) can hold at most its own cap, and the server at most the
 * global one, however fast frames come. Progress: a connection with nothing in flight is
 * admitted one request of any size if the server has room for it, or if the server holds
 * nothing at all. Several hostile connections together can still fill the server's caps:
 * then everyone waits (bounded memory, not fairness).
 *
 * <p>A connection refused because the <em>server</em> was full waits in a set and is woken
 * (its {@link Conn#wake()} called) when bytes are released. Thread-safe: one monitor; it
 * never calls out while holding it.
 */
final class ServerAdmission {
  /** One connection's share; {@link #wake()} must only schedule work, never block. */
  interface Conn {
    void wake();
  }

  private final int maxRequests;
  private final long maxBytes;
  private final long maxConnectionBytes;
  private final int maxConnectionRequests;
  /** Per connection: {bytes, requests} in flight. */
  private final Map<Conn, long[]> held = new HashMap<>();
  private final Set<Conn> waiting = new LinkedHashSet<>();
  private int requests;
  private long bytes;

  ServerAdmission(int maxRequests, long maxBytes, int maxConnectionRequests,
      long maxConnectionBytes) {
    this.maxRequests = maxRequests;
    this.maxBytes = maxBytes;
    this.maxConnectionRequests = maxConnectionRequests;
    this.maxConnectionBytes = maxConnectionBytes;
  }

  /** Admits one request of {@code cost} bytes for {@code c}, or returns false. */
  synchronized boolean tryAdmit(Conn c, long cost) {
    long[] h = held.get(c);
    long mine = h == null ? 0 : h[0];
    long mineRequests = h == null ? 0 : h[1];
    boolean serverRoom = requests < maxRequests && (bytes + cost <= maxBytes || bytes == 0);
    boolean connRoom = mineRequests == 0
        || (mineRequests < maxConnectionRequests && mine + cost <= maxConnectionBytes);
    if (!serverRoom) {
      waiting.add(c);
      return false;
    }
    if (!connRoom) {
      return false; // woken by its own releases
    }
    requests++;
    bytes += cost;
    long[] n = held.computeIfAbsent(c, k -> new long[2]);
    n[0] += cost;
    n[1]++;
    return true;
  }

  /** Adds a reply's bytes to an admitted request's cost (always admitted). */
  synchronized void add(Conn c, long extra) {
    bytes += extra;
    held.computeIfAbsent(c, k -> new long[2])[0] += extra;
  }

  /**
   * Ends a request of {@code cost} bytes (its reply written or dropped); wakes {@code c} and
   * every connection that waited for server room.
   */
  void release(Conn c, long cost) {
    List<Conn> wake = new ArrayList<>();
    synchronized (this) {
      requests--;
      bytes -= cost;
      long[] mine = held.get(c);
      if (mine != null) {
        mine[0] -= cost;
        if (--mine[1] <= 0) {
          held.remove(c);
        }
      }
      wake.addAll(waiting);
      waiting.clear();
    }
    c.wake();
    for (Conn w : wake) {
      if (w != c) {
        w.wake();
      }
    }
  }

  /** Forgets a closed connection (its in-flight requests still release their cost). */
  synchronized void closed(Conn c) {
    waiting.remove(c);
  }

  /** Bytes held by requests in flight. */
  synchronized long bytes() {
    return bytes;
  }

  /** Requests in flight. */
  synchronized int requests() {
    return requests;
  }
}
