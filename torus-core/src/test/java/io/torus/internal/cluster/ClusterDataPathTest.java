package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockVolume;
import io.torus.ReadLevel;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.spi.BlockRef;
import io.torus.testing.cluster.MiniCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replicated data path on in-process peers ({@link MiniCluster}, shared local
 * coordination, file stores, a fault proxy on every connection) and a client-only node: a
 * corrupt copy on disk, a blackholed peer, too few peers for the replication. The SIGKILL of
 * a peer process is {@link ClusterDataPathIT}'s.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterDataPathTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  /**
   * A client node, started once every peer has the whole ring stored: a node reads the stored
   * ring when it starts, while a later version reaches it only through its watch.
   */
  private static Torus client(MiniCluster c, ReadLevel level, Duration peerTimeout) {
    c.awaitRing(Duration.ofSeconds(20));
    return c.client(b -> b.readLevel(level).peerTimeout(peerTimeout)
        .ioTimeout(Duration.ofSeconds(20)).cacheBytes(0));
  }

  private static byte[] read(BlockVolume v, long off, int len) {
    ByteBuffer b = ByteBuffer.allocate(len);
    v.read(off, b);
    return b.array();
  }

  /** A corrupted copy on one peer's disk: reads return correct data and repair the copy. */
  @Test
  void corruptCopyIsReadAroundAndRepaired() throws Exception {
    byte[] data = new byte[4 * MIB];
    new SplittableRandom(7).nextBytes(data);
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).start()) {
      long volumeId;
      try (Torus c = client(peers, ReadLevel.FIRST, Duration.ofSeconds(2))) {
        peers.awaitRing(Duration.ofSeconds(20));
        volumeId = c.createVolume(VolumeSpec.builder("vol", 4 * MIB).replication(2).build())
            .id();
        try (BlockVolume v = c.openVolume("vol")) {
          v.write(0, ByteBuffer.wrap(data));
          v.flush();
        }
      }
      int victim = corruptOnePeer(peers, Arrays.copyOfRange(data, 1000, 1064));
      // the running peer serves from its file, not from memory: it sees the damage
      assertThat(badCopies(peers.port(victim), volumeId)).as("corrupt copies").isPositive();
      try (Torus c = client(peers, ReadLevel.VERIFY, Duration.ofSeconds(2))) {
        peers.awaitRing(Duration.ofSeconds(20)); // a new node learns the ring asynchronously
        try (BlockVolume v = c.openVolumeReadOnly("vol")) {
          assertThat(read(v, 0, data.length)).isEqualTo(data);
        }
      }
      awaitAllCopiesGood(peers.port(victim), volumeId);
    }
  }

  /** Flips bytes of the first stored copy containing {@code needle}; returns its node. */
  private static int corruptOnePeer(MiniCluster peers, byte[] needle) throws IOException {
    for (int i = 0; i < peers.size(); i++) {
      try (Stream<Path> files = Files.walk(peers.storeDirectory(i))) {
        for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
          long at = find(f, needle);
          if (at >= 0) {
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
              raf.seek(at);
              raf.write(new byte[] {(byte) ~needle[0], (byte) ~needle[1]});
            }
            return i;
          }
        }
      }
    }
    throw new AssertionError("no peer stores the block");
  }

  private static long find(Path f, byte[] needle) throws IOException {
    byte[] all = Files.readAllBytes(f);
    outer:
    for (int i = 0; i + needle.length <= all.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (all[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** Polls (bounded) until every copy the peer on {@code port} lists reads back intact. */
  private static void awaitAllCopiesGood(int port, long volumeId) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      int bad = badCopies(port, volumeId);
      if (bad == 0) {
        return;
      }
      assertThat(System.nanoTime()).as("copies still corrupt: %d", bad).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  /** How many of the copies the peer on {@code port} lists fail to read back. */
  private static int badCopies(int port, long volumeId) {
    Duration d = Duration.ofSeconds(5);
    try (PeerTransport t = new PeerTransport("checker", TransportOptions.defaults(),
        ForkJoinPool.commonPool())) {
      PeerClient pc = t.client(new InetSocketAddress("127.0.0.1", port));
      ListPage page = pc.list(volumeId, null, 100_000, d).join();
      assertThat(page.refs()).isNotEmpty();
      int bad = 0;
      for (BlockRef r : page.refs()) {
        try {
          pc.get(r, d).join();
        } catch (RuntimeException e) {
          bad++;
        }
      }
      return bad;
    }
  }

  /** A peer behind a blackhole: writes, flushes and reads go on within bounded time. */
  @Test
  void blackholedPeerDoesNotStopIo() {
    int size = 16 * MIB;
    byte[] model = new byte[size];
    new SplittableRandom(3).nextBytes(model);
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).start();
        Torus c = client(peers, ReadLevel.FIRST, Duration.ofSeconds(1))) {
      peers.awaitRing(Duration.ofSeconds(20));
      c.createVolume(VolumeSpec.builder("vol", size).replication(2).build());
      try (BlockVolume v = c.openVolume("vol")) {
        v.write(0, ByteBuffer.wrap(model, 0, size / 2));
        v.flush();
        peers.pause(0); // every byte to and from node-0 is dropped, its connections stay open
        long start = System.nanoTime();
        v.write(size / 2, ByteBuffer.wrap(model, size / 2, size / 2));
        v.flush();
        assertThat(read(v, 0, size)).isEqualTo(model);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(ms).as("I/O with one peer blackholed took %d ms", ms).isLessThan(30_000);
        peers.resume(0);
      }
      try (Torus fresh = client(peers, ReadLevel.FIRST, Duration.ofSeconds(1))) {
        peers.awaitRing(Duration.ofSeconds(20)); // a new node learns the ring asynchronously
        try (BlockVolume v = fresh.openVolumeReadOnly("vol")) {
          assertThat(read(v, 0, size)).isEqualTo(model);
        }
      }
    }
  }

  /** Replication 3 on 2 peers: the flush fails clearly and nothing is committed. */
  @Test
  void tooFewPeersFailsTheFlush() {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(2).start();
        Torus c = client(peers, ReadLevel.FIRST, Duration.ofSeconds(2))) {
      peers.awaitRing(Duration.ofSeconds(20));
      c.createVolume(VolumeSpec.builder("vol", MIB).replication(3).build());
      byte[] data = new byte[64 << 10];
      Arrays.fill(data, (byte) 7);
      BlockVolume v = c.openVolume("vol");
      v.write(0, ByteBuffer.wrap(data));
      assertThatThrownBy(v::flush).isInstanceOf(TorusException.class)
          .hasMessageContaining("write level ALL needs 3");
      // Closing flushes too: it fails the same way rather than dropping the data silently.
      assertThatThrownBy(v::close).isInstanceOf(TorusException.class)
          .hasMessageContaining("needs 3");
      try (BlockVolume ro = c.openVolumeReadOnly("vol")) {
        assertThat(read(ro, 0, data.length)).containsOnly(0);
      }
      assertThat(peers.size()).isEqualTo(2);
    }
  }
}
