package io.torus.fault;

import io.torus.Torus;
import io.torus.TorusException;
import io.torus.internal.node.TorusNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A peer JVM of the fault suite: a clustered node with a file store that knows every etcd
 * member (so losing one member does not cut it off). Prints {@code READY <port>} when serving
 * and runs until its stdin closes or it is killed.
 *
 * <p>Arguments: etcd endpoints (comma-separated), etcd prefix, data directory, advertise port
 * (its fault proxy's). Store capacity 128 MiB; garbage collection every 15 s (a run rewrites
 * its few blocks thousands of times, so garbage piles up fast); lost-peer grace 10 min, so a
 * killed peer keeps its place in the ring; anti-entropy every 5 s; scrub every 20 s.
 */
public final class FaultPeerMain {
  private FaultPeerMain() {}

  public static void main(String[] args) throws Exception {
    try (Torus node = start(args)) {
      System.out.println("READY " + ((TorusNode) node).peerPort());
      System.out.flush();
      while (System.in.read() >= 0) {
        // until the parent closes stdin
      }
    }
  }

  /**
   * Starts the node, retrying for up to 45 s while etcd does not answer (a loaded machine can
   * make the first lease grant miss the 3 s request timeout; that is not a fault under test).
   */
  private static Torus start(String[] args) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
    while (true) {
      try {
        return build(args);
      } catch (TorusException e) {
        if (!e.isRetryable() || System.nanoTime() > deadline) {
          throw e;
        }
        System.err.println("FaultPeerMain: start failed, retrying: " + e);
        Thread.sleep(500);
      }
    }
  }

  private static Torus build(String[] args) {
    return Torus.builder().etcd(List.of(args[0].split(","))).etcdPrefix(args[1])
        .dataDirectory(Path.of(args[2])).storeCapacity(128L << 20)
        .gcInterval(Duration.ofSeconds(15))
        .listen("127.0.0.1", 0).advertise("127.0.0.1", Integer.parseInt(args[3]))
        .ioTimeout(Duration.ofSeconds(3)).peerTimeout(Duration.ofSeconds(2))
        .lostPeerGrace(Duration.ofMinutes(10)).antiEntropyInterval(Duration.ofSeconds(5))
        .scrubInterval(Duration.ofSeconds(20)).build();
  }
}
