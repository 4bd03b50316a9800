package io.torus.internal.meta;

import io.torus.Erasure;
import io.torus.TorusException;
import io.torus.VolumeInfo;

/** The checks every metadata service makes on the policy of erasure-coded volumes. */
public final class ErasureRules {
  private ErasureRules() {}

  /**
   * Throws EINVAL if {@code v} is erasure-coded: its replication is the copies its map nodes
   * and head keep (m+1, as many lost peers as its data survives), fixed with its policy.
   */
  public static void checkReplicationChange(VolumeInfo v) {
    Erasure e = v.erasure();
    if (e != null) {
      throw TorusException.invalid("volume '" + v.name() + "' is erasure-coded " + e
          + ": its map nodes keep m+1 = " + e.mapCopies() + " copies and its data "
          + e.parityShards() + " parity shard(s); its replication cannot be changed");
    }
  }
}
