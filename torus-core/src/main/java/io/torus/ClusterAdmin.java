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
   * @param overcommitRatio how many times the raw capacity of the peers the volumes of the
   *     cluster may provision in all (see {@link Capacity}); 0 turns the check off. Nodes
   *     built without {@link TorusBuilder#overcommitRatio} use it.
   */
  record Defaults(int replication, int blockSize, Instant initialized, Instant updated,
      Erasure erasure, double overcommitRatio) {
    /** The overcommit ratio of a cluster initialised without one: 4. */
    public static final double DEFAULT_OVERCOMMIT_RATIO = 4.0;
    /** The largest overcommit ratio. */
    public static final double MAX_OVERCOMMIT_RATIO = 1000.0;

    /** Validates the values as a {@link VolumeSpec} would, and the ratio. */
    public Defaults {
      new VolumeSpec("defaults", 512, blockSize, replication);
      Objects.requireNonNull(initialized, "initialized");
      Objects.requireNonNull(updated, "updated");
      checkOvercommit(overcommitRatio);
    }

    /** Defaults with the default overcommit ratio. */
    public Defaults(int replication, int blockSize, Instant initialized, Instant updated,
        Erasure erasure) {
      this(replication, blockSize, initialized, updated, erasure, DEFAULT_OVERCOMMIT_RATIO);
    }

    /** Defaults without an erasure-coding policy: new volumes are replicated. */
    public Defaults(int replication, int blockSize, Instant initialized, Instant updated) {
      this(replication, blockSize, initialized, updated, null);
    }

    /**
     * Throws {@link TorusException} (EINVAL) unless {@code ratio} is 0 (no check) or a number
     * from 0.01 to {@link #MAX_OVERCOMMIT_RATIO}; returns it.
     */
    public static double checkOvercommit(double ratio) {
      if (!(ratio == 0 || (ratio >= 0.01 && ratio <= MAX_OVERCOMMIT_RATIO))) {
        throw TorusException.invalid("overcommit ratio must be 0 (no check) or 0.01 to "
            + (int) MAX_OVERCOMMIT_RATIO + ": " + ratio);
      }
      return ratio;
    }
  }

  /**
   * The space of the cluster as a node sees it, and the limits its capacity guard applies. A
   * node refuses (ENOSPC) to create or grow a volume when {@code provisionedBytes} would pass
   * {@link #provisionLimit()}, and warns when {@code usedBytes} passes {@code warnRatio} of
   * {@code rawBytes} ({@link #nearlyFull()}). Nothing is reserved: two nodes creating at once
   * may both pass the check.
   *
   * @param rawBytes the capacity of the peers up, as they registered it (a local node: of its
   *     stores); 0 when no peer is up, which the guard cannot judge and lets through
   * @param usedBytes what those peers hold, as they last reported
   * @param provisionedBytes the sizes of every volume, each times its copies (an
   *     erasure-coded one times (k+m)/k), summed; snapshots take no space of their own until
   *     their volume is overwritten, and are not counted
   * @param overcommitRatio how many times {@code rawBytes} may be provisioned; 0: unchecked
   * @param warnRatio the share of {@code rawBytes} in use past which the cluster warns; 0:
   *     never
   */
  record Capacity(long rawBytes, long usedBytes, long provisionedBytes, double overcommitRatio,
      double warnRatio) {

    /**
     * The most bytes the volumes may provision: {@code overcommitRatio × rawBytes}, or
     * {@link Long#MAX_VALUE} when unchecked (ratio 0, or no capacity known).
     */
    public long provisionLimit() {
      if (overcommitRatio == 0 || rawBytes == 0) {
        return Long.MAX_VALUE;
      }
      double limit = overcommitRatio * rawBytes;
      return limit >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) limit;
    }

    /** {@code usedBytes / rawBytes}, 0 when no capacity is known. */
    public double usedRatio() {
      return rawBytes == 0 ? 0 : (double) usedBytes / rawBytes;
    }

    /** Whether the used share passed the warning ratio. */
    public boolean nearlyFull() {
      return warnRatio > 0 && rawBytes > 0 && usedRatio() >= warnRatio;
    }
  }

  /**
   * The cluster's space now (see {@link Capacity}): reads every volume's record and, on a
   * cluster, the defaults; the peers' figures come from the node's live view.
   */
  Capacity capacity();

  /** Whether this node belongs to a cluster coordinated through etcd. */
  boolean clustered();

  /**
   * Every known peer, up and down, sorted by node id. Reads the whole registry: with many
   * peers, prefer {@link #peers(String, int)}.
   */
  List<PeerInfo> peers();

  /**
   * One page of the known peers, up and down: those whose node ids come strictly after
   * {@code after} (null: from the first) in id order, at most {@code limit} of them, and
   * whether more follow (see {@link Page}). Reads only the page from the registry (on etcd,
   * at one revision).
   *
   * @param after a node id (it need not be known), or null
   * @param limit 1 to {@link Page#MAX_LIMIT}
   * @throws TorusException EINVAL for a bad limit or a malformed {@code after}
   */
  Page<PeerInfo> peers(String after, int limit);

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
   * @param overcommitRatio the cluster's {@link Defaults#overcommitRatio()} (0: no check)
   * @return the stored defaults
   */
  Defaults initialize(int replication, int blockSize, Erasure erasure, double overcommitRatio,
      boolean force);

  /** {@link #initialize(int, int, Erasure, double, boolean)} with the default overcommit. */
  default Defaults initialize(int replication, int blockSize, Erasure erasure, boolean force) {
    return initialize(replication, blockSize, erasure, Defaults.DEFAULT_OVERCOMMIT_RATIO, force);
  }

  /** {@link #initialize(int, int, Erasure, boolean)} without an erasure-coding policy. */
  default Defaults initialize(int replication, int blockSize, boolean force) {
    return initialize(replication, blockSize, null, force);
  }

  /**
   * Sets the cluster's replication: new replicated volumes get it by default, and every
   * existing replicated volume is changed to it; rebalancing then adds or removes copies
   * (watch {@link #replication()}). Erasure-coded volumes keep theirs (m+1, fixed by their
   * policy), and the default erasure-coding policy and overcommit ratio stay. Handles opened
   * before keep writing the old number of copies until reopened. Refused (EINVAL) if the
   * cluster was never initialised.
   *
   * @return the stored defaults
   */
  Defaults setReplication(int replication);
}
