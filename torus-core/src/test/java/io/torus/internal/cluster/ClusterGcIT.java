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
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
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

/**
 * Garbage collection across peer processes: overwritten blocks are deleted on every peer, the
 * data still reads back, and with etcd down a cycle fails and deletes nothing.
 */
class ClusterGcIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int MIB = 1 << 20;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void overwrittenBlocksAreCollectedOnEveryPeer() throws Exception {
    String prefix = "/gc";
    byte[] model = new byte[8 * MIB];
    Random rnd = new Random(9);
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 2)) {
      try (Torus c = Torus.builder().etcd(ETCD.endpoints()).etcdPrefix(prefix).peer(false)
          .ioTimeout(Duration.ofSeconds(10)).gcInterval(Duration.ZERO).build()) {
        c.createVolume(VolumeSpec.builder("v", model.length).replication(2).build());
        long ringDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (c.cluster().ring().map(r -> r.members().size()).orElse(0) < 2) {
          assertThat(System.nanoTime()).as("both peers in the ring").isLessThan(ringDeadline);
          Thread.sleep(200);
        }
        try (BlockVolume v = c.openVolume("v")) {
          for (int round = 0; round < 5; round++) { // each round overwrites everything
            rnd.nextBytes(model);
            v.write(0, ByteBuffer.wrap(model));
            v.flush();
          }
        }
        int[] ports = {peers.proxy(0).port(), peers.proxy(1).port()};
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
