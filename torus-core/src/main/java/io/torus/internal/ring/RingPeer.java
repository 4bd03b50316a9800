package io.torus.internal.ring;

import io.torus.TorusException;
import java.nio.charset.StandardCharsets;

/**
 * A member of a ring: a peer id and its weight (normally its capacity in bytes).
 *
 * @param id the peer's node id: 1 to 255 UTF-8 bytes
 * @param weight relative share of blocks, {@code > 0}
 */
public record RingPeer(String id, long weight) {
  public RingPeer {
    if (id == null || id.isEmpty() || id.getBytes(StandardCharsets.UTF_8).length > 255) {
      throw TorusException.invalid("ring peer id must be 1 to 255 UTF-8 bytes: " + id);
    }
    if (weight <= 0) {
      throw TorusException.invalid("ring peer weight must be > 0: " + weight);
    }
  }
}
