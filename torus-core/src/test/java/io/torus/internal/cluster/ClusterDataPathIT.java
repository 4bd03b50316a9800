package io.torus.internal.cluster;

import io.torus.BlockVolume;
import io.torus.ReadLevel;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated data path across real processes: peer JVMs with file stores behind fault
 * proxies, a client node in this JVM, real etcd. Only what needs a process here: the SIGKILL
 * of a peer; the rest of the data path runs on in-process peers in {@link ClusterDataPathTest}.
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
}
