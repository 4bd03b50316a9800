package io.torus.internal.ring;

import java.util.List;

class KetamaRingTest extends RingContract {
  @Override
  protected Ring newRing(long version, List<RingPeer> peers) {
    return new KetamaRing(version, peers);
  }
}
