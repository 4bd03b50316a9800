package io.torus.internal.transport;

/**
 * What a peer reports about itself.
 *
 * @param nodeId the peer's node id
 * @param capacity bytes its stores can hold
 * @param used bytes in use
 */
public record PeerStats(String nodeId, long capacity, long used) {}
