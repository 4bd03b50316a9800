package io.torus.archfixture;

import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.RingPeer;
import java.util.List;

/** Breaks the outside-core rule: code outside torus-core building an engine class. */
public final class EngineUser {
  private EngineUser() {}

  /** A one-peer ring. */
  public static Object ring() {
    return new KetamaRing(1, List.of(new RingPeer("peer-0", 1L << 30)));
  }
}
