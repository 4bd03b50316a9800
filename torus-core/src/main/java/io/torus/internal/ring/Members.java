package io.torus.internal.ring;

import io.torus.TorusException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Validation shared by the ring kinds: members sorted by id, ids distinct, not empty. */
final class Members {
  private Members() {}

  static List<RingPeer> canonical(List<RingPeer> peers) {
    if (peers == null || peers.isEmpty()) {
      throw TorusException.invalid("a ring needs at least one peer");
    }
    List<RingPeer> sorted = new ArrayList<>(peers);
    sorted.sort(Comparator.comparing(RingPeer::id));
    Set<String> seen = new HashSet<>();
    for (RingPeer p : sorted) {
      if (!seen.add(p.id())) {
        throw TorusException.invalid("duplicate ring peer: " + p.id());
      }
    }
    return List.copyOf(sorted);
  }

  static int checkCount(int n) {
    if (n < 1) {
      throw TorusException.invalid("peer count must be >= 1: " + n);
    }
    return n;
  }
}
