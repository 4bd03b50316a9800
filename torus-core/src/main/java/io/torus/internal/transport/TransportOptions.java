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
 */
public record TransportOptions(int connectionsPerPeer, Duration requestTimeout,
    Duration connectTimeout, int maxInFlightBytes) {
  /** Bytes reserved for the answer of a get. */
  public static final int GET_RESERVE = 64 << 10;

  public TransportOptions {
    if (connectionsPerPeer < 1 || connectionsPerPeer > 16) {
      throw TorusException.invalid("connectionsPerPeer must be 1 to 16: " + connectionsPerPeer);
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw TorusException.invalid("requestTimeout must be > 0: " + requestTimeout);
    }
    if (maxInFlightBytes < (4 << 20) + (64 << 10)) {
      throw TorusException.invalid("maxInFlightBytes must hold one 4 MiB block: "
          + maxInFlightBytes);
    }
  }

  /** Defaults: 2 connections, 5 s requests, 3 s connects, 64 MiB in flight per peer. */
  public static TransportOptions defaults() {
    return new TransportOptions(2, Duration.ofSeconds(5), Duration.ofSeconds(3), 64 << 20);
  }

  /** These options with another request deadline. */
  public TransportOptions withRequestTimeout(Duration timeout) {
    return new TransportOptions(connectionsPerPeer, timeout, connectTimeout, maxInFlightBytes);
  }
}
