package io.torus.testing.cluster;

import io.torus.Torus;
import io.torus.internal.node.TorusNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A peer JVM for multi-process tests: a clustered Torus node with a file store. Prints
 * {@code READY <port>} when serving, runs until its stdin closes (or it is killed).
 *
 * <p>Arguments: etcd endpoint, etcd prefix, data directory, listen port (0: any),
 * advertise port (0: the listen port). System properties (all optional):
 * {@code torus.peer.grace}, {@code torus.peer.antiEntropy}, {@code torus.peer.scrubInterval}
 * (ISO-8601 durations), {@code torus.peer.rebalanceRate}, {@code torus.peer.scrubRate}
 * (bytes/s), {@code torus.peer.capacity} (bytes, default 256 MiB).
 */
public final class PeerMain {
  private PeerMain() {}

  public static void main(String[] args) throws Exception {
    var b = Torus.builder().etcd(List.of(args[0])).etcdPrefix(args[1])
        .dataDirectory(Path.of(args[2]))
        .storeCapacity(Long.getLong("torus.peer.capacity", 256L << 20))
        .listen("127.0.0.1", Integer.parseInt(args[3]));
    String grace = System.getProperty("torus.peer.grace");
    if (grace != null) {
      b.lostPeerGrace(Duration.parse(grace));
    }
    String ae = System.getProperty("torus.peer.antiEntropy");
    if (ae != null) {
      b.antiEntropyInterval(Duration.parse(ae));
    }
    String scrub = System.getProperty("torus.peer.scrubInterval");
    if (scrub != null) {
      b.scrubInterval(Duration.parse(scrub));
    }
    Long rate = Long.getLong("torus.peer.rebalanceRate");
    if (rate != null) {
      b.rebalanceRate(rate);
    }
    Long scrubRate = Long.getLong("torus.peer.scrubRate");
    if (scrubRate != null) {
      b.scrubRate(scrubRate);
    }
    int advertise = Integer.parseInt(args[4]);
    if (advertise != 0) {
      b.advertise("127.0.0.1", advertise);
    }
    try (Torus node = b.build()) {
      System.out.println("READY " + ((TorusNode) node).peerPort());
      System.out.flush();
      while (System.in.read() >= 0) {
        // wait for the parent to close stdin
      }
    }
  }
}
