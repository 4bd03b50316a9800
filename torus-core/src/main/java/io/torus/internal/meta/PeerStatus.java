package io.torus.internal.meta;

import java.util.Objects;

/**
 * A known peer and whether it is up.
 *
 * @param info what the peer last registered (for a down peer: the last values it wrote)
 * @param up whether the peer's registration is held by a live session right now
 */
public record PeerStatus(PeerInfo info, boolean up) {
  /** Checks that {@code info} is present. */
  public PeerStatus {
    Objects.requireNonNull(info, "info");
  }

  /** The peer's node id. */
  public String nodeId() {
    return info.nodeId();
  }
}
