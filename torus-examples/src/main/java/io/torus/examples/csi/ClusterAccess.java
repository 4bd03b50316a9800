package io.torus.examples.csi;

import io.grpc.Status;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The plugin's client-only Torus node, opened on first use (so the plugin serves Identity
 * calls, and reports itself unhealthy, while etcd is still unreachable) and opened again on
 * the next call after an attempt failed. Thread-safe.
 */
final class ClusterAccess implements AutoCloseable {
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

  private final Supplier<Torus> opener;
  private final int minPeers;
  private final ExecutorService probes = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "csi-probe");
    t.setDaemon(true);
    return t;
  });
  private Torus torus;
  private boolean closed;

  ClusterAccess(Supplier<Torus> opener, int minPeers) {
    this.opener = opener;
    this.minPeers = minPeers;
  }

  /** The node; throws UNAVAILABLE if it cannot be opened now. */
  synchronized Torus torus() {
    if (closed) {
      throw Status.UNAVAILABLE.withDescription("the plugin is stopping").asRuntimeException();
    }
    if (torus == null) {
      try {
        torus = opener.get();
      } catch (RuntimeException e) {
        throw Status.UNAVAILABLE.withDescription("cannot reach the Torus cluster: "
            + e.getMessage()).withCause(e).asRuntimeException();
      }
    }
    return torus;
  }

  /** Opens the node now if it can; a failure is left for the next call to report. */
  void warmUp() {
    try {
      torus();
    } catch (RuntimeException e) {
      // UNAVAILABLE: the next call tries again and reports it
    }
  }

  /**
   * Checks, within 5 s, that etcd answers and at least {@code minPeers} peers are up; throws
   * FAILED_PRECONDITION saying what is missing.
   */
  void checkHealthy() throws InterruptedException {
    Future<List<ClusterAdmin.PeerInfo>> peers = probes.submit(() -> torus().cluster().peers());
    List<ClusterAdmin.PeerInfo> list;
    try {
      list = peers.get(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      peers.cancel(true);
      throw CsiErrors.precondition("etcd did not answer within " + PROBE_TIMEOUT.toSeconds()
          + " s");
    } catch (java.util.concurrent.ExecutionException e) {
      throw CsiErrors.precondition("cannot read the cluster's peers: " + e.getCause());
    }
    long up = list.stream().filter(ClusterAdmin.PeerInfo::up).count();
    if (up < minPeers) {
      throw CsiErrors.precondition(up + " peer(s) up, fewer than the " + minPeers
          + " needed");
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    probes.shutdownNow();
    if (torus != null) {
      torus.close();
      torus = null;
    }
  }
}
