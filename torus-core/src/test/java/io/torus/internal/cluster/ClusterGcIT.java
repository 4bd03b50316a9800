package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockRef;
import io.torus.BlockVolume;
import io.torus.GcResult;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.testing.cluster.MiniCluster;
import io.torus.testing.etcd.EtcdCluster;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection across peers: two in-process peers ({@link MiniCluster}) and a client
 * node on a real etcd. Overwritten blocks are deleted on every peer, the data still reads
 * back, and with etcd down (its process killed) a cycle fails and deletes nothing.
 */
class ClusterGcIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void overwrittenBlocksAreCollectedOnEveryPeer() throws Exception {
    String prefix = "/gc";
    byte[] model = new byte[8 * MIB];
    Random rnd = new Random(9);
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(2)
        .etcd(ETCD.endpoints(), prefix).start()) {
      // etcd calls give up after the I/O timeout: it bounds how long a cycle with etcd down takes
      try (Torus c = peers.client(b -> b.ioTimeout(Duration.ofSeconds(4)))) {
        c.createVolume(VolumeSpec.builder("v", model.length).replication(2).build());
        peers.awaitRing(Duration.ofSeconds(60)); // both peers in the ring, as the client sees it
        try (BlockVolume v = c.openVolume("v")) {
          for (int round = 0; round < 5; round++) { // each round overwrites everything
            rnd.nextBytes(model);
            v.write(0, ByteBuffer.wrap(model));
            v.flush();
          }
        }
        int[] ports = {peers.port(0), peers.port(1)};
        long before = blocksOnPeers(ports);
        GcResult first = c.collectGarbage();
        assertThat(first.deletedBlocks()).isPositive();
        long after = blocksOnPeers(ports);
        assertThat(after).isEqualTo(before - first.deletedBlocks());
        // what is left is exactly one live copy set: R=2 copies of every live block
        assertThat(after).isEqualTo(2 * first.liveBlocks());
        try (BlockVolume v = c.openVolumeReadOnly("v")) {
          ByteBuffer all = ByteBuffer.allocate(model.length);
          v.read(0, all);
          assertThat(Arrays.equals(all.array(), model)).as("data intact").isTrue();
        }

        try (BlockVolume v = c.openVolume("v")) { // more garbage
          v.write(0, ByteBuffer.wrap(new byte[2 * MIB]));
          v.flush();
        }
        long withGarbage = blocksOnPeers(ports);
        ETCD.killAll();
        assertThatThrownBy(c::collectGarbage).isInstanceOf(TorusException.class);
        assertThat(blocksOnPeers(ports)).as("nothing deleted without metadata")
            .isEqualTo(withGarbage);
        ETCD.restartAll();
        ETCD.awaitHealthy();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        GcResult again = null;
        while (again == null) {
          try {
            again = c.collectGarbage();
          } catch (TorusException e) {
            if (System.nanoTime() > deadline) {
              throw e;
            }
            Thread.sleep(500);
          }
        }
        assertThat(again.deletedBlocks()).isPositive();
      }
    }
  }

  /** Every copy on every peer (each peer's refs, counted per peer). */
  private static long blocksOnPeers(int[] ports) {
    long n = 0;
    try (PeerTransport t = new PeerTransport("checker", TransportOptions.defaults(),
        ForkJoinPool.commonPool())) {
      for (int port : ports) {
        PeerClient pc = t.client(new InetSocketAddress("127.0.0.1", port));
        Set<BlockRef> refs = new HashSet<>();
        for (long vol = 1; vol <= 4; vol++) {
          BlockRef after = null;
          while (true) {
            ListPage page = pc.list(vol, after, 100_000, Duration.ofSeconds(10)).join();
            refs.addAll(page.refs());
            if (!page.more() || page.refs().isEmpty()) {
              break;
            }
            after = page.refs().get(page.refs().size() - 1);
          }
        }
        n += refs.size();
      }
    }
    return n;
  }
}
