package io.torus.internal.meta;

/**
 * What a peer needs from the coordination service to authorize requests: the cluster token
 * (presented with deletes that carry no fencing epoch) and whether a fencing epoch is a
 * volume's current one (a volume's epoch is the epoch of its writer lock).
 *
 * <p>Thread-safe. {@link #isCurrent} may block on a metadata read for at most the service's
 * request timeout and throws {@link io.torus.TorusException} (EIO, retryable) if it cannot
 * answer: the caller then refuses the request, never admits it blindly.
 */
public interface PeerAuthority {

  /** The cluster token (a copy): 16 random bytes created when the cluster first started. */
  byte[] clusterToken();

  /** Whether {@code epoch} is the epoch of the volume's writer lock now. */
  boolean isCurrent(long volumeId, long epoch);
}
