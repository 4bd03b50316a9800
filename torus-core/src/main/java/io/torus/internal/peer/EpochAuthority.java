package io.torus.internal.peer;

/**
 * Decides whether a fencing epoch a peer has never seen for a volume is real, before the peer
 * persists it (a persisted epoch fences every lower one for good, so a forged
 * {@code Long.MAX_VALUE} would fence the volume forever).
 *
 * <p>A volume's epoch is the create revision of its lock key in etcd; an implementation over
 * etcd answers true only if the lock key exists now with exactly that create revision. The
 * peer asks only for epochs above the highest it accepted, so implementations may cache
 * positive answers.
 *
 * <p>Thread-safe; may block on a metadata read (peer worker threads call it). Throws
 * {@link io.torus.TorusException} (EIO, retryable) if the answer cannot be had: the request is
 * then refused, never admitted blindly.
 */
@FunctionalInterface
public interface EpochAuthority {

  /**
   * Trusts every epoch. Only for a peer whose every client is trusted: a server in the same
   * JVM as all its callers (tests), where nothing is reachable from the network that could
   * forge one. A node with local metadata runs no peer server at all.
   */
  EpochAuthority TRUSTING = (volumeId, epoch) -> true;

  /** Whether {@code epoch} is the volume's current fencing epoch (its lock's). */
  boolean isCurrent(long volumeId, long epoch);
}
