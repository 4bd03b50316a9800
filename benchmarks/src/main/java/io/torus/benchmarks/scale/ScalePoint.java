package io.torus.benchmarks.scale;

import io.torus.BlockVolume;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;

/**
 * One measured cluster size of the scale harness: starts N peers over the given hosts, then
 * measures, in this order, the steady-state etcd load, a join and a drain (ring propagation,
 * settle time, bytes moved against the ideal share), a 1 TiB thin volume beside a 1 GiB one
 * (open time, block map size, flush time), a garbage-collection sweep, and the stop. Every
 * wait is bounded.
 *
 * <p>The client node (a non-peer on the same etcd) writes the data and issues the drain;
 * {@code options} decides what is measured (the integration test skips the volumes).
 */
final class ScalePoint {
  private static final int MIB = 1 << 20;
  private static final int BLOCK = 16 << 10;

  /** What to run and how long. */
  record Options(Duration steadyWindow, int dataMiB, int volumeMiB, boolean volumes,
      Duration settleTimeout) {}

  private final List<Host> hosts;
  private final List<String> etcd;
  private final Torus client;
  private final Options options;
  private final int peers;

  ScalePoint(List<Host> hosts, List<String> etcd, Torus client, int peers, Options options) {
    this.hosts = hosts;
    this.etcd = etcd;
    this.client = client;
    this.peers = peers;
    this.options = options;
  }

  ScaleResult run() throws Exception {
    ScaleResult.Builder r = new ScaleResult.Builder(peers, hosts.size());
    start(r);
    long[] mem = new long[5];
    for (Host h : hosts) {
      long[] s = h.stats();
      for (int i = 0; i < s.length; i++) {
        mem[i] += s[i];
      }
    }
    r.memory(mem);
    steady(r);
    writeData();
    await("settled after writing", this::settled);
    join(r);
    drain(r);
    if (options.volumes()) {
      try {
        volumes(r);
      } catch (RuntimeException e) {
        r.failed = "volumes: " + e.getMessage();
        System.err.println("the volume measurements failed: " + e);
      }
    }
    try {
      r.gcMillis = gcTimed();
    } catch (RuntimeException e) {
      r.gcMillis = -1;
      r.failed = (r.failed == null ? "" : r.failed + "; ") + "gc: " + e.getMessage();
    }
    r.stopMillis = stop();
    return r.build();
  }

  private void start(ScaleResult.Builder r) throws Exception {
    List<List<String>> ids = new ArrayList<>();
    for (int i = 0; i < hosts.size(); i++) {
      ids.add(new ArrayList<>());
    }
    for (int i = 0; i < peers; i++) {
      ids.get(i % hosts.size()).add(String.format("p%04d", i));
    }
    long t0 = System.nanoTime();
    parallel(i -> hosts.get(i).start(ids.get(i)));
    r.startMillis = (System.nanoTime() - t0) / 1_000_000;
    await("every peer in the ring", () -> ringMembers() == peers && settled());
    r.ringFormedMillis = (System.nanoTime() - t0) / 1_000_000;
  }

  private void steady(ScaleResult.Builder r) throws Exception {
    Thread.sleep(3000); // the last registrations' watch deliveries and reports
    EtcdMetrics before = EtcdMetrics.read(etcd);
    Thread.sleep(options.steadyWindow().toMillis());
    EtcdMetrics after = EtcdMetrics.read(etcd);
    r.steady = after.since(before, peers);
    r.dbBytes = after.dbBytes();
    r.dbInUseBytes = after.dbInUseBytes();
  }

  private void writeData() {
    client.createVolume(VolumeSpec.builder("data", (long) options.dataMiB() * MIB)
        .replication(2).build());
    byte[] chunk = new byte[MIB];
    new SplittableRandom(1).nextBytes(chunk);
    try (BlockVolume v = client.openVolume("data")) {
      for (long off = 0; off < v.size(); off += MIB) {
        v.write(off, ByteBuffer.wrap(chunk));
      }
      v.flush();
    }
  }

  private void join(ScaleResult.Builder r) throws Exception {
    long v0 = ringVersion();
    long moved0 = sum(1);
    long t0 = System.nanoTime();
    long t0Micros = PeerHost.nowMicros();
    r.joinStartMillis = hosts.get(0).start(List.of("pjoin"));
    await("the join settled", () -> ringMembers() == peers + 1 && !inTransition()
        && settled());
    r.joinSettleMillis = (System.nanoTime() - t0) / 1_000_000;
    r.joinPropagation = propagation(v0 + 1, t0Micros);
    r.joinMoved = sum(1) - moved0;
    r.joinIdeal = sum(0) / (peers + 1);
    r.joinNewPeerHolds = hosts.get(0).used("pjoin");
  }

  private void drain(ScaleResult.Builder r) throws Exception {
    String victim = String.format("p%04d", hosts.size() > 1 ? 1 : 0);
    Host owner = hosts.get(hosts.size() > 1 ? 1 : 0);
    long held = owner.used(victim);
    long v0 = ringVersion();
    long moved0 = sum(1);
    long t0 = System.nanoTime();
    long t0Micros = PeerHost.nowMicros();
    client.cluster().drainPeer(victim);
    await("the drain settled", () -> ringMembers() == peers && !inTransition() && settled());
    r.drainSettleMillis = (System.nanoTime() - t0) / 1_000_000;
    r.drainPropagation = propagation(v0 + 1, t0Micros);
    r.drainMoved = sum(1) - moved0;
    r.drainIdeal = held;
  }

  private void volumes(ScaleResult.Builder r) throws Exception {
    int blocks = (int) ((long) options.volumeMiB() * MIB / BLOCK);
    r.volumeBlocksWritten = blocks;
    String[] names = {"thin", "small"};
    long[] sizes = {1L << 40, 1L << 30};
    long[] ids = new long[2];
    byte[] buf = new byte[BLOCK];
    SplittableRandom rnd = new SplittableRandom(7);
    for (int i = 0; i < 2; i++) {
      ids[i] = client.createVolume(VolumeSpec.builder(names[i], sizes[i]).blockSize(BLOCK)
          .replication(2).build()).id();
      try (BlockVolume v = client.openVolume(names[i])) {
        for (int b = 0; b < blocks; b++) {
          rnd.nextBytes(buf);
          v.write(rnd.nextLong(sizes[i] / BLOCK) * BLOCK, ByteBuffer.wrap(buf));
        }
        v.flush();
      }
    }
    gcTimed(); // drop the map nodes earlier flushes replaced
    long[][] open = new long[2][9];
    long[][] flush = new long[2][9];
    for (int k = 0; k < open[0].length; k++) {
      for (int i = 0; i < 2; i++) { // interleaved: load on the machine hits both alike
        long t0 = System.nanoTime();
        BlockVolume v = client.openVolume(names[i]);
        open[i][k] = (System.nanoTime() - t0) / 1000;
        try (v) {
          for (int b = 0; b < 64; b++) {
            rnd.nextBytes(buf);
            v.write(rnd.nextLong(sizes[i] / BLOCK) * BLOCK, ByteBuffer.wrap(buf));
          }
          long t1 = System.nanoTime();
          v.flush();
          flush[i][k] = (System.nanoTime() - t1) / 1000;
        }
      }
    }
    gcTimed();
    for (int i = 0; i < 2; i++) {
      long[] maps = new long[3];
      for (Host h : hosts) {
        long[] m = h.mapBlocks(ids[i]);
        for (int k = 0; k < 3; k++) {
          maps[k] += m[k];
        }
      }
      r.volume(i, median(open[i]), maps[0] / 2, maps[1] / 2, maps[2] / 2, median(flush[i]));
    }
  }

  private long gcTimed() {
    long t0 = System.nanoTime();
    client.collectGarbage();
    return (System.nanoTime() - t0) / 1_000_000;
  }

  private long stop() throws Exception {
    long t0 = System.nanoTime();
    parallel(i -> hosts.get(i).stop());
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** Propagation of ring {@code version}: seen − first seen, p50/p99/max, and trigger→last. */
  private double[] propagation(long version, long triggerMicros) throws Exception {
    List<Long> seen = new ArrayList<>();
    long deadline = System.nanoTime() + options.settleTimeout().toNanos();
    while (true) {
      seen.clear();
      for (Host h : hosts) {
        seen.addAll(h.ringSeen(version));
      }
      if (!seen.contains(-1L) || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(100);
    }
    long[] t = seen.stream().filter(x -> x >= 0).mapToLong(Long::longValue).sorted().toArray();
    if (t.length == 0) {
      return new double[] {-1, -1, -1, -1, seen.size()};
    }
    long first = t[0];
    return new double[] {ms(t[pct(t.length, 50)] - first), ms(t[pct(t.length, 99)] - first),
        ms(t[t.length - 1] - first), ms(t[t.length - 1] - triggerMicros),
        seen.size() - t.length};
  }

  private static int pct(int n, int p) {
    return Math.min(n - 1, (int) Math.ceil(n * p / 100.0) - 1);
  }

  private static double ms(long micros) {
    return micros / 1000.0;
  }

  private static long median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /** Sum of one {@link Host#storage()} figure over the hosts. */
  private long sum(int index) throws Exception {
    long n = 0;
    for (Host h : hosts) {
      n += h.storage()[index];
    }
    return n;
  }

  private long ringVersion() {
    return client.cluster().ring().map(ClusterAdmin.RingInfo::version).orElse(0L);
  }

  private int ringMembers() {
    try {
      return client.cluster().ring().map(x -> x.members().size()).orElse(0);
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private boolean inTransition() {
    try {
      Optional<ClusterAdmin.Replication> r = client.cluster().replication();
      return r.isEmpty() || r.get().inTransition();
    } catch (RuntimeException e) {
      return true;
    }
  }

  private boolean settled() {
    try {
      return client.cluster().replication().map(ClusterAdmin.Replication::settled)
          .orElse(false);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private void await(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + options.settleTimeout().toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not " + what + " within " + options.settleTimeout());
      }
      Thread.sleep(200);
    }
  }

  private interface HostCall {
    void run(int host) throws Exception;
  }

  private void parallel(HostCall call) throws Exception {
    ExecutorService exec = Executors.newFixedThreadPool(hosts.size());
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < hosts.size(); i++) {
        int h = i;
        fs.add(exec.submit(() -> {
          call.run(h);
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      exec.shutdown();
    }
  }
}
