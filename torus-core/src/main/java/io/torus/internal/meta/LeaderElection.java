package io.torus.internal.meta;

import java.util.Optional;

/**
 * One named, cluster-wide election (for example {@code gc} or {@code rebalance}): among the
 * candidates that campaign, one at a time leads. Leadership is bound to the candidate node's
 * session: when the session is lost, leadership is lost at once.
 *
 * <p>Each leadership has a <em>term</em>, strictly greater than every earlier term of this
 * election; work done for the leader can carry it as a fencing token.
 *
 * <p>Thread-safe. Listener calls are made one at a time, in order, on a thread of the
 * election (never a network thread).
 */
public interface LeaderElection extends AutoCloseable {

  /**
   * Throws {@link io.torus.TorusException} (EINVAL) unless {@code name} is a valid election
   * name: 1 to 128 of {@code [A-Za-z0-9._-]}, not starting with '.' or '-'.
   */
  static String checkName(String name) {
    try {
      return io.torus.VolumeSpec.checkName(name);
    } catch (io.torus.TorusException e) {
      throw io.torus.TorusException.invalid("bad election name (1-128 of [A-Za-z0-9._-], not"
          + " starting with '.' or '-'): " + (name == null ? "null" : "'" + name + "'"));
    }
  }

  /** The election's name. */
  String name();

  /** This candidate's id (node id and address, for people to read). */
  String candidate();

  /**
   * Joins the election and returns at once; the listener is told when leadership is gained.
   * Campaigning goes on across lost sessions (the candidate joins again with its new
   * session) until {@link #resign} or {@link #close}. Idempotent.
   */
  void campaign();

  /**
   * Leaves the election; if this candidate leads, leadership is lost (the listener is told)
   * and another candidate can take over at once. Idempotent.
   */
  void resign();

  /** Whether this candidate leads right now (as far as it knows). */
  boolean isLeader();

  /**
   * The current leader as the store says now (observe), or empty if nobody campaigns.
   *
   * @throws io.torus.TorusException EIO (retryable) if the store cannot be reached
   */
  Optional<Leader> leader();

  /** Adds a listener; returns its registration. */
  Subscription addListener(LeadershipListener listener);

  /** Resigns and stops. Idempotent. */
  @Override
  void close();

  /**
   * A leader.
   *
   * @param candidate the leader's candidate id
   * @param term its term
   */
  record Leader(String candidate, long term) {}

  /** Told when this candidate gains or loses leadership. */
  interface LeadershipListener {
    /** This candidate now leads, in {@code term}. */
    void leadershipGained(long term);

    /** This candidate no longer leads ({@code reason} says why: resigned, session lost...). */
    void leadershipLost(long term, String reason);
  }
}
