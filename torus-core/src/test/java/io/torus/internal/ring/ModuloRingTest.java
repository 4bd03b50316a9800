package io.torus.internal.ring;

import java.util.List;

class ModuloRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new ModuloRing(version, peers);
  }
}
