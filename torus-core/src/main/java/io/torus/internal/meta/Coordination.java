package io.torus.internal.meta;

/**
 * Cluster coordination beyond volumes: peers, the ring, elections. Implemented by the etcd
 * metadata service (cluster-wide) and the local one (one process). Everything returned is
 * closed with the metadata service.
 */
public interface Coordination {

  /** The peer registry of this node (one per metadata service). */
  PeerRegistry peers();

  /** The ring store. */
  RingStore ring();

  /** Replication reports and drain requests. */
  RebalanceStore rebalance();

  /**
   * A candidate of the named election, not yet campaigning.
   *
   * @param name the election: 1 to 128 of {@code [A-Za-z0-9._-]}, not starting with '.' or
   *     '-'
   * @param candidate this candidate's id, 1 to 1024 characters, not blank
   */
  LeaderElection election(String name, String candidate);

  /** The cluster token and epoch checks of the peer protocol. */
  PeerAuthority authority();

  /** The cluster defaults record. */
  ClusterDefaultsStore defaults();
}
