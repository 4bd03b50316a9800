package io.torus.internal.transport;

import io.torus.TorusException;
import java.time.Duration;

/**
 * Settings of the peer protocol client.
 *
 * @param connectionsPerPeer long-lived connections per remote peer, requests spread over
 *     them round-robin; 1 to 16
 * @param requestTimeout default deadline of one request, from send to answer
 * @param connectTimeout deadline of establishing a connection
 * @param maxInFlightBytes per peer, bytes of requests in flight (put payloads; a get counts
 *     as {@link #GET_RESERVE}, anything else 1 KiB); a request without room queues, first
 *     come first sent, until answers free room or its deadline passes (backpressure; no
 *     thread waits)
 * @param idleTimeout a connection that carried nothing for this long, with no request in
 *     flight, is closed (the next request opens a new one); zero keeps connections open
 */
public record TransportOptions(int connectionsPerPeer, Duration requestTimeout,
    Duration connectTimeout, int maxInFlightBytes, Duration idleTimeout) {
  /** Default of {@link #idleTimeout}. */
  public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** Bytes reserved for the answer of a get. */
  public static final int GET_RESERVE = 64 << 10;

  public TransportOptions {
    if (connectionsPerPeer < 1 || connectionsPerPeer > 16) {
      throw TorusException.invalid("connectionsPerPeer must be 1 to 16: " + connectionsPerPeer);
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw TorusException.invalid("requestTimeout must be > 0: " + requestTimeout);
    }
    if (idleTimeout == null || idleTimeout.isNegative()) {
      throw TorusException.invalid("idleTimeout must be >= 0: " + idleTimeout);
    }
    if (maxInFlightBytes < (4 << 20) + (64 << 10)) {
      throw TorusException.invalid("maxInFlightBytes must hold one 4 MiB block: "
          + maxInFlightBytes);
    }
  }

  /** Options with the default {@link #IDLE_TIMEOUT}. */
  public TransportOptions(int connectionsPerPeer, Duration requestTimeout,
      Duration connectTimeout, int maxInFlightBytes) {
    this(connectionsPerPeer, requestTimeout, connectTimeout, maxInFlightBytes, IDLE_TIMEOUT);
  }

  /**
   * Defaults: 2 connections, 5 s requests, 3 s connects, 64 MiB in flight per peer, idle
   * connections closed after 60 s.
   */
  public static TransportOptions defaults() {
    return new TransportOptions(2, Duration.ofSeconds(5), Duration.ofSeconds(3), 64 << 20);
  }

  /** These options with another request deadline. */
  public TransportOptions withRequestTimeout(Duration timeout) {
    return new TransportOptions(connectionsPerPeer, timeout, connectTimeout, maxInFlightBytes,
        idleTimeout);
  }

  /** These options with another idle timeout (zero: never close an idle connection). */
  public TransportOptions withIdleTimeout(Duration idle) {
    return new TransportOptions(connectionsPerPeer, requestTimeout, connectTimeout,
        maxInFlightBytes, idle);
  }
}
