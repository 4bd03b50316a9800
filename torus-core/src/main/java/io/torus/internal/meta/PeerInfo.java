package io.torus.internal.meta;

import io.torus.TorusException;
import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a peer tells the cluster about itself.
 *
 * @param nodeId the node's stable id (persisted in its data directory): 1 to 128 of
 *     {@code [A-Za-z0-9._-]}, not starting with '.' or '-'
 * @param address where peers reach it, {@code host:port} (IPv6 hosts in brackets)
 * @param capacityBytes the bytes its stores can hold, {@code >= 0}
 * @param usedBytes the bytes its stores hold now, {@code >= 0}
 * @param protocolVersion the peer protocol version it speaks, {@code >= 1}
 * @param started when the node (this registration) started
 */
public record PeerInfo(String nodeId, String address, long capacityBytes, long usedBytes,
    int protocolVersion, Instant started) {

  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  private static final Pattern ADDRESS =
      Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):(\\d{1,5})");

  /** Validates every field; throws {@link TorusException} (EINVAL) naming the bad one. */
  public PeerInfo {
    checkNodeId(nodeId);
    if (address == null || !ADDRESS.matcher(address).matches()
        || Integer.parseInt(address.substring(address.lastIndexOf(':') + 1)) > 65535) {
      throw TorusException.invalid("peer address must be host:port: " + address);
    }
    if (capacityBytes < 0 || usedBytes < 0) {
      throw TorusException.invalid("capacity and used bytes must be >= 0: " + capacityBytes
          + ", " + usedBytes);
    }
    if (protocolVersion < 1) {
      throw TorusException.invalid("protocol version must be >= 1: " + protocolVersion);
    }
    Objects.requireNonNull(started, "started");
  }

  /** Throws {@link TorusException} (EINVAL) unless {@code id} is a valid node id. */
  public static String checkNodeId(String id) {
    if (id == null || !NODE_ID.matcher(id).matches()) {
      throw TorusException.invalid("bad node id (1-128 of [A-Za-z0-9._-], not starting with"
          + " '.' or '-'): " + (id == null ? "null" : "'" + id + "'"));
    }
    return id;
  }

  /** This record with new usage figures. */
  public PeerInfo withUsage(long newCapacityBytes, long newUsedBytes) {
    return new PeerInfo(nodeId, address, newCapacityBytes, newUsedBytes, protocolVersion,
        started);
  }
}
