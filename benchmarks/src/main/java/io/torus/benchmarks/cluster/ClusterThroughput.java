package io.torus.benchmarks.cluster;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.PeerProcesses;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * End-to-end volume throughput through the async API: one in-memory node (memory store, one
 * copy) against a client of 3 peer processes (file stores, R=2) with real etcd, all on
 * loopback, in one run. Jobs: sequential 1 MiB writes and reads at queue depth 8, random
 * 4 KiB writes and reads at queue depth 32; write jobs end with a flush (counted).
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar
 * io.torus.benchmarks.cluster.ClusterThroughput [seconds-per-job] [size-MiB]}.
 */
public final class ClusterThroughput {
  private ClusterThroughput() {}

  private record Job(String name, boolean write, boolean random, int size, int depth) {}

  private static final List<Job> JOBS = List.of(
      new Job("seq write 1M qd8", true, false, 1 << 20, 8),
      new Job("seq read 1M qd8", false, false, 1 << 20, 8),
      new Job("rand write 4k qd32", true, true, 4096, 32),
      new Job("rand read 4k qd32", false, true, 4096, 32));

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    long size = (args.length > 1 ? Long.parseLong(args[1]) : 256) << 20;
    EtcdCluster etcd = EtcdCluster.builder().members(1).build();
    etcd.start();
    try (PeerProcesses peers = new PeerProcesses(etcd.endpoint(0), "/bench", 3,
        List.of("-Dtorus.peer.capacity=" + Math.max(1L << 30, size * 4)));
        Torus cluster = Torus.builder().etcd(etcd.endpoints()).etcdPrefix("/bench")
            .peer(false).ioTimeout(Duration.ofSeconds(30)).build();
        Torus single = Torus.builder().storeCapacity(4L << 30).build()) {
      single.createVolume(VolumeSpec.builder("b", size).replication(1).build());
      cluster.createVolume(VolumeSpec.builder("b", size).replication(2).build());
      awaitWritable(cluster);
      double[][] results = new double[2][JOBS.size()];
      Torus[] nodes = {single, cluster};
      for (int n = 0; n < 2; n++) {
        try (BlockVolume v = nodes[n].openVolume("b")) {
          prefill(v, size);
          for (int j = 0; j < JOBS.size(); j++) {
            results[n][j] = run(v, JOBS.get(j), size, seconds);
          }
        }
      }
      System.out.println();
      System.out.println("| job | 1 node, memory | 3 peers, file, R=2 | ratio |");
      System.out.println("|---|---:|---:|---:|");
      for (int j = 0; j < JOBS.size(); j++) {
        Job job = JOBS.get(j);
        String unit = job.random() ? " IOPS" : " MB/s";
        System.out.printf("| %s | %.0f%s | %.0f%s | %.2f |%n", job.name(), results[0][j], unit,
            results[1][j], unit, results[1][j] / results[0][j]);
      }
    } finally {
      etcd.close();
    }
  }

  private static void awaitWritable(Torus t) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (BlockVolume v = t.openVolume("b")) {
        v.write(0, ByteBuffer.allocate(4096));
        v.flush();
        Thread.sleep(2000); // let every peer join the ring
        return;
      } catch (TorusException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

  private static void prefill(BlockVolume v, long size) {
    byte[] data = new byte[1 << 20];
    new SplittableRandom(1).nextBytes(data);
    for (long off = 0; off < size; off += data.length) {
      v.write(off, ByteBuffer.wrap(data));
    }
    v.flush();
  }

  /** Runs a job for {@code seconds}; returns MB/s (sequential) or IOPS (random). */
  private static double run(BlockVolume v, Job job, long size, int seconds) throws Exception {
    Semaphore slots = new Semaphore(job.depth());
    AtomicLong done = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    SplittableRandom rnd = new SplittableRandom(7);
    byte[] payload = new byte[job.size()];
    rnd.nextBytes(payload);
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long next = 0;
    while (System.nanoTime() < end && failure.get() == null) {
      slots.acquire();
      long off;
      if (job.random()) {
        off = rnd.nextLong(size / job.size()) * job.size();
      } else {
        off = next;
        next = (next + job.size()) % size;
      }
      CompletableFuture<Void> f = job.write()
          ? v.writeAsync(off, ByteBuffer.wrap(payload))
          : v.readAsync(off, ByteBuffer.allocate(job.size()));
      f.whenComplete((x, t) -> {
        if (t != null) {
          failure.compareAndSet(null, t);
        } else {
          done.incrementAndGet();
        }
        slots.release();
      });
    }
    slots.acquire(job.depth()); // everything in flight has finished
    if (job.write()) {
      v.flush();
    }
    if (failure.get() != null) {
      throw new IllegalStateException(job.name() + " failed", failure.get());
    }
    double secs = (System.nanoTime() - start) / 1e9;
    return job.random() ? done.get() / secs : done.get() * (double) job.size() / 1e6 / secs;
  }
}
