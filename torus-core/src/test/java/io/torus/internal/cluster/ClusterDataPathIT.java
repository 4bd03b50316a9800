package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockRef;
import io.torus.BlockVolume;
import io.torus.ReadLevel;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.transport.ListPage;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.testing.cluster.FaultProxy;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated data path across real processes: peer JVMs with file stores behind fault
 * proxies, a client node in this JVM, real etcd.
 */
class ClusterDataPathIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final AtomicInteger TEST = new AtomicInteger();
  private static final int MIB = 1 << 20;

  private static String prefix() {
    return "/dp" + TEST.incrementAndGet();
  }

  private static Torus client(String prefix, ReadLevel level, Duration peerTimeout) {
    return Torus.builder().etcd(ETCD.endpoints()).etcdPrefix(prefix).peer(false)
        .readLevel(level).peerTimeout(peerTimeout).ioTimeout(Duration.ofSeconds(20))
        .cacheBytes(0).build();
  }

  private static void awaitRing(Torus t, String volume, int peers) throws Exception {
    // A client learns the ring on start; peers may still be joining: wait until a flush of
    // an empty write succeeds on a volume with `peers` replicas is not needed, poll instead.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      try (BlockVolume v = t.openVolume(volume)) {
        v.write(0, ByteBuffer.allocate(v.blockSize()));
        v.flush();
        return;
      } catch (TorusException e) {
        Thread.sleep(200);
      }
    }
    throw new AssertionError("cluster of " + peers + " peers never became writable");
  }

  private static byte[] read(BlockVolume v, long off, int len) {
    ByteBuffer b = ByteBuffer.allocate(len);
    v.read(off, b);
    return b.array();
  }

  /**
   * 3 peers, R=2: 96 MiB of random data in 1 MiB writes with a flush every 8 MiB; one peer is
   * killed with SIGKILL a third of the way in; writing goes on; every flushed byte reads back
   * from a fresh client; the peer restarts; everything reads back again.
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void killedPeerLosesNoFlushedByte() throws Exception {
    String prefix = prefix();
    long size = 96L * MIB;
    byte[] model = new byte[(int) size];
    new SplittableRandom(42).nextBytes(model);
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 3)) {
      try (Torus c = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(2))) {
        c.createVolume(VolumeSpec.builder("vol", size).replication(2).build());
        awaitRing(c, "vol", 3);
        Thread.sleep(1500); // every peer registered and in the ring
        try (BlockVolume v = c.openVolume("vol")) {
          for (int i = 0; i < size / MIB; i++) {
            v.write((long) i * MIB, ByteBuffer.wrap(model, i * MIB, MIB));
            if (i % 8 == 7) {
              v.flush();
            }
            if (i == 32) {
              peers.kill(1);
            }
          }
          v.flush();
        }
      }
      verify(prefix, model);
      peers.restart(1);
      verify(prefix, model);
    }
  }

  private static void verify(String prefix, byte[] model) {
    try (Torus c = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(2));
        BlockVolume v = c.openVolumeReadOnly("vol")) {
      for (int off = 0; off < model.length; off += 4 * MIB) {
        byte[] got = read(v, off, 4 * MIB);
        if (!Arrays.equals(got, 0, got.length, model, off, off + got.length)) {
          throw new AssertionError("mismatch in [" + off + ", " + (off + 4 * MIB) + ")");
        }
      }
    }
  }

  /** A corrupted copy on one peer's disk: reads return correct data and repair the copy. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void corruptCopyIsReadAroundAndRepaired() throws Exception {
    String prefix = prefix();
    byte[] data = new byte[4 * MIB];
    new SplittableRandom(7).nextBytes(data);
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 3)) {
      long volumeId;
      try (Torus c = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(2))) {
        volumeId = c.createVolume(VolumeSpec.builder("vol", 4 * MIB).replication(2).build())
            .id();
        awaitRing(c, "vol", 3);
        Thread.sleep(1500);
        try (BlockVolume v = c.openVolume("vol")) {
          v.write(0, ByteBuffer.wrap(data));
          v.flush();
        }
      }
      int victim = corruptOnePeer(peers, Arrays.copyOfRange(data, 1000, 1064));
      try (Torus c = client(prefix, ReadLevel.VERIFY, Duration.ofSeconds(2));
          BlockVolume v = c.openVolumeReadOnly("vol")) {
        assertThat(read(v, 0, data.length)).isEqualTo(data);
      }
      awaitAllCopiesGood(peers.proxy(victim).port(), volumeId);
    }
  }

  /** Flips bytes of the first stored copy containing {@code needle}; returns its peer. */
  private static int corruptOnePeer(PeerProcesses peers, byte[] needle) throws IOException {
    for (int i = 0; i < peers.size(); i++) {
      try (Stream<Path> files = Files.walk(peers.dataDirectory(i).resolve("store"))) {
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

  private static void awaitAllCopiesGood(int port, long volumeId) throws Exception {
    Duration d = Duration.ofSeconds(5);
    try (PeerTransport t = new PeerTransport("checker", TransportOptions.defaults(),
        ForkJoinPool.commonPool())) {
      PeerClient pc = t.client(new java.net.InetSocketAddress("127.0.0.1", port));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (true) {
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
        if (bad == 0) {
          return;
        }
        assertThat(System.nanoTime()).as("copies still corrupt: %d", bad).isLessThan(deadline);
        Thread.sleep(200);
      }
    }
  }

  /** A peer behind a blackhole: writes, flushes and reads go on within bounded time. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void blackholedPeerDoesNotStopIo() throws Exception {
    String prefix = prefix();
    int size = 16 * MIB;
    byte[] model = new byte[size];
    new SplittableRandom(3).nextBytes(model);
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 3);
        Torus c = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(1))) {
      c.createVolume(VolumeSpec.builder("vol", size).replication(2).build());
      awaitRing(c, "vol", 3);
      Thread.sleep(1500);
      try (BlockVolume v = c.openVolume("vol")) {
        v.write(0, ByteBuffer.wrap(model, 0, size / 2));
        v.flush();
        peers.proxy(0).mode(FaultProxy.Mode.BLACKHOLE);
        long start = System.nanoTime();
        v.write(size / 2, ByteBuffer.wrap(model, size / 2, size / 2));
        v.flush();
        assertThat(read(v, 0, size)).isEqualTo(model);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(ms).as("I/O with one peer blackholed took %d ms", ms).isLessThan(30_000);
        peers.proxy(0).mode(FaultProxy.Mode.PASS);
      }
      try (Torus fresh = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(1));
          BlockVolume v = fresh.openVolumeReadOnly("vol")) {
        assertThat(read(v, 0, size)).isEqualTo(model);
      }
    }
  }

  /** Replication 3 on 2 peers: the flush fails clearly and nothing is committed. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void tooFewPeersFailsTheFlush() throws Exception {
    String prefix = prefix();
    try (PeerProcesses peers = new PeerProcesses(ETCD.endpoint(0), prefix, 2);
        Torus c = client(prefix, ReadLevel.FIRST, Duration.ofSeconds(2))) {
      c.createVolume(VolumeSpec.builder("ok", MIB).replication(2).build());
      awaitRing(c, "ok", 2);
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
