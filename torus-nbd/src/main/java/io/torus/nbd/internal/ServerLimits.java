package io.torus.nbd.internal;

import java.time.Duration;

/**
 * The limits and timeouts of one NBD server, as its builder validated them.
 *
 * @param maxConnections connections open at once; a newcomer past it evicts a parked one
 * @param maxInFlightRequests requests one connection may have in flight
 * @param maxInFlightBytes READ/WRITE bytes one connection may have in flight
 * @param maxTotalInFlightBytes bytes the whole server holds for clients: buffered input,
 *     WRITE payloads being received or written, READ replies being produced or queued
 * @param handshakeTimeout time a client has from connect to the end of option haggling
 * @param readTimeout time a partially received request may go without a byte arriving, and
 *     time replies may stay unsent because the client does not read them
 * @param idleTimeout time a connection may stay in transmission with nothing in flight and
 *     nothing buffered; {@link Duration#ZERO} means never
 */
public record ServerLimits(int maxConnections, int maxInFlightRequests, long maxInFlightBytes,
    long maxTotalInFlightBytes, Duration handshakeTimeout, Duration readTimeout,
    Duration idleTimeout) {

  /** Whether connections with nothing to do are closed after {@link #idleTimeout}. */
  public boolean idleTimeoutEnabled() {
    return !idleTimeout.isZero();
  }

  /**
   * How long a connection must have gone without progress, by its client's fault, before it
   * may be evicted to make room under pressure: one second, or the read timeout if shorter.
   */
  Duration stallGrace() {
    return readTimeout.compareTo(Duration.ofSeconds(1)) < 0 ? readTimeout : Duration.ofSeconds(1);
  }
}
