package io.torus.benchmarks.cluster;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.internal.meta.etcd.EtcdMetadataService;
import io.torus.internal.rebalance.ClusterStatus;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Rebalance on loopback: 3 peer processes (file stores, default rebalance rate) hold a volume
 * with R=2; a 4th peer joins. Prints the bytes moved, the time until the ring settled, the
 * resulting rate, and the throughput of a foreground writer before and during the move.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar
 * io.torus.benchmarks.cluster.RebalanceThroughput [size-MiB]}.
 */
public final class RebalanceThroughput {
  private RebalanceThroughput() {}

  private static final int MIB = 1 << 20;

  public static void main(String[] args) throws Exception {
    long size = (args.length > 0 ? Long.parseLong(args[0]) : 128) * MIB;
    EtcdCluster etcd = EtcdCluster.builder().members(1).build();
    etcd.start();
    try (PeerProcesses peers = new PeerProcesses(etcd.endpoint(0), "/rb", 3,
            List.of("-Dtorus.peer.capacity=" + (2L << 30), "-Dtorus.peer.antiEntropy=PT2S"));
        EtcdMetadataService meta = EtcdMetadataService.builder().endpoints(etcd.endpoints())
            .rootPrefix("/rb").build();
        Torus client = Torus.builder().etcd(etcd.endpoints()).etcdPrefix("/rb").peer(false)
            .ioTimeout(Duration.ofSeconds(30)).build()) {
      await(() -> members(meta) == 3 && settled(meta), 60);
      client.createVolume(VolumeSpec.builder("data", size).replication(2).build());
      client.createVolume(VolumeSpec.builder("fg", 32L * MIB).replication(2).build());
      byte[] chunk = new byte[MIB];
      new SplittableRandom(1).nextBytes(chunk);
      try (BlockVolume v = client.openVolume("data")) {
        for (long off = 0; off < size; off += MIB) {
          v.write(off, ByteBuffer.wrap(chunk));
        }
        v.flush();
      }
      await(() -> settled(meta), 120);
      try (BlockVolume fg = client.openVolume("fg")) {
        double before = foreground(fg, chunk, () -> false, 5);
        long movedBefore = moved(meta);
        long t0 = System.nanoTime();
        peers.add();
        double during = foreground(fg, chunk,
            () -> members(meta) == 4 && settled(meta), 180);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long moved = moved(meta) - movedBefore;
        System.out.printf("%n| what | value |%n|---|---:|%n");
        System.out.printf("| data on the cluster | %d MiB x 2 copies |%n", size / MIB);
        System.out.printf("| moved to the 4th peer | %.1f MB |%n", moved / 1e6);
        System.out.printf("| join to settled (includes starting the JVM) | %.1f s |%n",
            seconds);
        System.out.printf("| rebalance rate | %.1f MB/s |%n", moved / 1e6 / seconds);
        System.out.printf("| foreground 1 MiB writes before | %.1f MB/s |%n", before);
        System.out.printf("| foreground 1 MiB writes during | %.1f MB/s (%.2f) |%n", during,
            during / before);
      }
    } finally {
      etcd.close();
    }
  }

  /**
   * Sequential 1 MiB writes, flushed every 8 MiB, until {@code stop} or the time limit; MB/s.
   */
  private static double foreground(BlockVolume v, byte[] chunk, BooleanSupplier stop,
      int maxSeconds) {
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(maxSeconds);
    long bytes = 0;
    long off = 0;
    int n = 0;
    while (System.nanoTime() < end && !(n % 16 == 0 && n > 0 && stop.getAsBoolean())) {
      v.write(off, ByteBuffer.wrap(chunk));
      off = (off + MIB) % v.size();
      bytes += MIB;
      n++;
      if (n % 8 == 0) {
        v.flush(); // every 8 MiB: the writes must reach the peers, not stay in memory
      }
    }
    v.flush();
    return bytes / 1e6 / ((System.nanoTime() - start) / 1e9);
  }

  private static int members(EtcdMetadataService meta) {
    try {
      ClusterStatus s = ClusterStatus.read(meta);
      return s.ring() == null ? 0 : s.ring().members().size();
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static boolean settled(EtcdMetadataService meta) {
    try {
      return ClusterStatus.read(meta).settled();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static long moved(EtcdMetadataService meta) {
    return ClusterStatus.read(meta).reports().values().stream()
        .mapToLong(r -> r.bytesMoved()).sum();
  }

  private static void await(BooleanSupplier done, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cluster did not settle within " + seconds + " s");
      }
      Thread.sleep(250);
    }
  }
}
