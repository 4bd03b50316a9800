package io.torus;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What an operator asks of a cluster: its peers, its ring and its defaults. Reached through
 * {@link Torus#cluster()}; read-only except for the cluster defaults and forgetting a down
 * peer.
 *
 * <p>Every call reads the metadata service afresh (no caching), so two calls may disagree if
 * the cluster changed in between. Thread-safe. Calls block for at most the node's I/O timeout
 * and throw {@link TorusException} ({@link ErrorCode#EIO}, retryable) when the metadata
 * cannot be read.
 *
 * <p>On a single-JVM node (no etcd) the cluster is the node itself: {@link #peers()} lists
 * what this process registered (nothing for a node whose stores are pooled locally), and
 * {@link #ring()} is empty.
 */
public interface ClusterAdmin {

  /**
   * A peer as the cluster knows it.
   *
   * @param nodeId the peer's stable node id
   * @param address where peers reach it, {@code host:port}
   * @param up whether its registration is held by a live session right now; a down peer is
   *     listed with the figures it last registered
   * @param capacityBytes bytes its stores can hold
   * @param usedBytes bytes its stores held when it last reported
   * @param started when the peer (its current or last registration) started
   */
  record PeerInfo(String nodeId, String address, boolean up, long capacityBytes,
      long usedBytes, Instant started) {
    /** Checks the non-null fields. */
    public PeerInfo {
      Objects.requireNonNull(nodeId, "nodeId");
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(started, "started");
    }
  }

  /**
   * A member of the ring.
   *
   * @param nodeId the peer's node id
   * @param weight its share of the ring (its capacity in bytes when it joined)
   */
  record RingMember(String nodeId, long weight) {}

  /**
   * The ring blocks are placed by.
   *
   * @param version grows by one with every change
   * @param type the kind of ring, e.g. {@code KETAMA} or {@code UNION} (while data moves)
   * @param members the members, sorted by node id
   * @param encodedBytes the size of the stored ring
   */
  record RingInfo(long version, String type, List<RingMember> members, int encodedBytes) {
    /** Copies the member list. */
    public RingInfo {
      members = List.copyOf(members);
    }
  }

  /**
   * The cluster's defaults, written by {@code torus init}: what a new volume gets when its
   * creator does not say otherwise, and the replication the cluster should have.
   *
   * @param replication copies of each block of a new replicated volume, 1 to 16
   * @param blockSize block size of a new volume, as {@link VolumeSpec#blockSize()} allows
   * @param initialized when the cluster was initialised (or re-initialised with force)
   * @param updated when these values were last changed
   * @param erasure the erasure-coding policy a new volume gets when its creator gives neither
   *     a replication nor a policy (its map nodes then keep {@link Erasure#mapCopies()}
   *     copies), or null: new volumes are replicated
   */
  record Defaults(int replication, int blockSize, Instant initialized, Instant updated,
      Erasure erasure) {
    /** Validates the values as a {@link VolumeSpec} would. */
    public Defaults {
      new VolumeSpec("defaults", 512, blockSize, replication);
      Objects.requireNonNull(initialized, "initialized");
      Objects.requireNonNull(updated, "updated");
    }

    /** Defaults without an erasure-coding policy: new volumes are replicated. */
    public Defaults(int replication, int blockSize, Instant initialized, Instant updated) {
      this(replication, blockSize, initialized, updated, null);
    }
  }

  /** Whether this node belongs to a cluster coordinated through etcd. */
  boolean clustered();

  /** Every known peer, up and down, sorted by node id. */
  List<PeerInfo> peers();

  /**
   * Forgets a down peer's registration. Refused with {@link ErrorCode#EPERM} while it is up.
   * Does not change the ring: moving the peer's blocks elsewhere is rebalancing's job.
   *
   * @return whether a registration was removed (false: the peer was unknown)
   */
  boolean removePeer(String nodeId);

  /**
   * Asks the cluster to drain a peer: its blocks are copied to their new owners, then it leaves
   * the ring and holds nothing; it does not rejoin until {@link #cancelDrain}. Watch
   * {@link #replication()} for progress. Refused (EINVAL) on a node without etcd.
   */
  void drainPeer(String nodeId);

  /** Withdraws a drain request; returns whether there was one. */
  boolean cancelDrain(String nodeId);

  /**
   * How far the cluster is from every block having its full number of copies, as the peers
   * last reported; empty on a node without a cluster.
   */
  Optional<Replication> replication();

  /**
   * The cluster's replication state.
   *
   * @param ringVersion the ring in force
   * @param inTransition whether blocks are moving between an old and a new ring
   * @param underReplicated copies missing, summed over the peers' last reports
   * @param bytesToMove bytes still to copy
   * @param rateBytesPerSecond the current copy rate
   * @param etaSeconds estimated seconds to settle, or -1 if unknown
   * @param scrubRepaired corrupt copies scrub has replaced
   * @param settled whether every up peer reported a complete pass with nothing missing
   */
  record Replication(long ringVersion, boolean inTransition, long underReplicated,
      long bytesToMove, long rateBytesPerSecond, long etaSeconds, long scrubRepaired,
      boolean settled) {}

  /** The ring blocks are placed by, or empty before the first peer joined. */
  Optional<RingInfo> ring();

  /** The cluster's defaults, or empty if the cluster was never initialised. */
  Optional<Defaults> defaults();

  /**
   * Initialises the cluster: stores its defaults. Refused with a {@link TorusException}
   * ({@link ErrorCode#EPERM}) if it already was, unless {@code force}; forcing replaces the
   * defaults only (volumes, peers and the ring stay). Refused (EINVAL) on a node without etcd.
   *
   * @param erasure the policy of new volumes created without a replication or a policy of
   *     their own ({@link Defaults#erasure()}), or null: replicated
   * @return the stored defaults
   */
  Defaults initialize(int replication, int blockSize, Erasure erasure, boolean force);

  /** {@link #initialize(int, int, Erasure, boolean)} without an erasure-coding policy. */
  default Defaults initialize(int replication, int blockSize, boolean force) {
    return initialize(replication, blockSize, null, force);
  }

  /**
   * Sets the cluster's replication: new replicated volumes get it by default, and every
   * existing replicated volume is changed to it; rebalancing then adds or removes copies
   * (watch {@link #replication()}). Erasure-coded volumes keep theirs (m+1, fixed by their
   * policy), and so does the default erasure-coding policy. Handles opened before keep writing
   * the old number of copies until reopened. Refused (EINVAL) if the cluster was never
   * initialised.
   *
   * @return the stored defaults
   */
  Defaults setReplication(int replication);
}
