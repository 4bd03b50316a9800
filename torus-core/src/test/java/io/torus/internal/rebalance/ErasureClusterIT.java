package io.torus.internal.rebalance;

import static io.torus.internal.rebalance.RebalanceCluster.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockUnavailableException;
import io.torus.BlockVolume;
import io.torus.ErrorCode;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.ReplicationReport;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.etcd.EtcdCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An erasure-coded 4+2 volume of 128 MiB on six peer processes (file stores, one shard of
 * each stripe per peer) and a real etcd, written and read by a client node in this JVM with
 * no block cache. Peers are killed with SIGKILL, chosen from the printed seed
 * ({@code -Dtorus.seed=N} replays a run):
 *
 * <ol>
 *   <li>two peers down: every byte reads back (degraded reads);
 *   <li>a third down: each block reads back exactly or fails with an EIO
 *       {@link BlockUnavailableException} naming its stripe (or a map node whose three copies
 *       were all on the three peers down), never with wrong bytes; some fail;
 *   <li>the three restarted, one with its store deleted (a replaced disk): the rebalancer
 *       rebuilds every shard that peer held from the other shards of its stripe; then two
 *       other peers are killed and every byte reads back, which needs the rebuilt shards;
 *   <li>one shard corrupted on a peer's disk: scrub finds it, replaces it with one rebuilt
 *       from its stripe and counts the repair; the peer then serves the original bytes.
 * </ol>
 *
 * <p>Anti-entropy passes run every 2 s and scrub rounds every second (at 4 MiB/s per peer),
 * so the rebuild and the repair are seen within the test's bounds. Peers run with
 * {@code -Xmx256m}.
 */
class ErasureClusterIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final long SIZE = 128L * MIB;
  private static final int BLOCK = 16 * 1024;
  private static final int PEERS = 6;
  /** Threads reading blocks with three peers down. */
  private static final int READERS = 4;
  /** Where the peers' logs are kept when the test fails. */
  private static final Path LOGS = Path.of("target", "ErasureClusterIT-logs");

  private final long start = System.nanoTime();
  private long lap = start;

  @Test
  @Timeout(value = 7, unit = TimeUnit.MINUTES)
  void twoLostPeersLoseNothingAWipedPeerIsRebuiltAndScrubRepairsAShard() throws Exception {
    long seed = Long.getLong("torus.seed", System.nanoTime());
    System.out.printf("ErasureClusterIT seed %d%n", seed);
    Random rnd = new Random(seed);
    List<String> opts = List.of("-Xmx256m", "-Dtorus.peer.grace=PT10M",
        "-Dtorus.peer.antiEntropy=PT2S", "-Dtorus.peer.rebalanceRate=" + 256L * MIB,
        "-Dtorus.peer.scrubInterval=PT1S", "-Dtorus.peer.scrubRate=" + 4L * MIB);
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), "/ec", PEERS, opts)) {
      try {
        run(c, seed, rnd);
      } catch (Throwable t) {
        c.peers.copyLogs(LOGS);
        System.out.printf("ErasureClusterIT: failed with seed %d; peer logs in %s%n", seed,
            LOGS.toAbsolutePath());
        throw t;
      }
    }
  }

  private void run(RebalanceCluster c, long seed, Random rnd) throws Exception {
    c.awaitSettled(PEERS, Duration.ofSeconds(150));
    lap("6 peers up");
    c.write(VolumeSpec.builder("vol", SIZE).blockSize(BLOCK).erasure(4, 2).build(), seed);
    lap("128 MiB written and flushed");
    Map<Integer, Set<BlockRef>> written = new HashMap<>();
    for (int i = 0; i < PEERS; i++) {
      written.put(i, c.holdings(i));
      assertThat(written.get(i)).as("shards on peer %d", i)
          .anyMatch(r -> r.striped() && r.kind() == BlockKind.DATA)
          .anyMatch(r -> r.kind() == BlockKind.PARITY);
    }
    System.out.printf("ErasureClusterIT: blocks held per peer %s%n", sizes(written));

    List<Integer> order = new ArrayList<>(IntStream.range(0, PEERS).boxed().toList());
    Collections.shuffle(order, rnd);
    List<Integer> down = List.copyOf(order.subList(0, 3));
    kill(c, down.get(0));
    kill(c, down.get(1));
    c.verify();
    lap("every byte read back with peers " + down.subList(0, 2) + " down");

    kill(c, down.get(2));
    readBlocksWithThreeDown(c);
    lap("blocks read with peers " + down + " down");

    int wiped = down.get(rnd.nextInt(3));
    deleteTree(c.peers.dataDirectory(wiped).resolve("store"));
    Instant restarted = Instant.now();
    Map<String, ReplicationReport> survivors = new HashMap<>(c.status().reports());
    for (int i : down) {
      survivors.remove(c.nodeId(i));
    }
    c.peers.restart(down);
    lap("peers " + down + " restarted, peer " + wiped + " with its store deleted");
    long rebuildStart = System.nanoTime();
    Set<BlockRef> lost = new HashSet<>(written.get(wiped));
    lost.removeIf(r -> !r.striped());
    List<String> restartedIds = new ArrayList<>();
    for (int i : down) {
      restartedIds.add(c.nodeId(i));
    }
    awaitRebuilt(c, wiped, lost, restartedIds, restarted);
    double rebuildSeconds = (System.nanoTime() - rebuildStart) / 1e9;
    // a peer counts the shards it rebuilt once it is through the page they came from
    long[] moved = new long[1];
    c.await("the replication reports counting the rebuilt bytes", Duration.ofSeconds(30),
        s -> (moved[0] = movedSince(s, survivors, restartedIds, restarted))
            >= (long) lost.size() * BLOCK);
    System.out.printf("ErasureClusterIT: %d shards (%d bytes of shard data) of wiped peer %d"
        + " rebuilt in %.1f s; the peers' reports count %d bytes moved%n", lost.size(),
        (long) lost.size() * BLOCK, wiped, rebuildSeconds, moved[0]);
    lap("wiped peer rebuilt");

    List<Integer> others = new ArrayList<>(order);
    others.remove(Integer.valueOf(wiped));
    Collections.shuffle(others, rnd);
    List<Integer> again = List.copyOf(others.subList(0, 2));
    kill(c, again.get(0));
    kill(c, again.get(1));
    c.verify();
    lap("every byte read back with peers " + again + " down after the rebuild");

    c.peers.restart(again);
    c.awaitSettled(PEERS, Duration.ofSeconds(60));
    lap("peers " + again + " restarted");
    scrubRepairsACorruptShard(c, rnd.nextInt(PEERS), rnd);
    lap("corrupt shard repaired by scrub");
    assertNoInconsistentStripe(c);
  }

  /**
   * No peer's scrub found a stripe whose first parity shard differs from the parity of its
   * data shards: no rebuild stored a wrong parity shard (one passing its checksum).
   */
  private static void assertNoInconsistentStripe(RebalanceCluster c) throws IOException {
    long scrubbed = c.status().reports().values().stream()
        .mapToLong(ReplicationReport::scrubbed).sum();
    List<String> found = new ArrayList<>();
    for (int i = 0; i < PEERS; i++) {
      try (Stream<String> lines = Files.lines(c.peers.dataDirectory(i).resolve("stderr.log"))) {
        lines.filter(l -> l.contains("does not match its stripe's data shards"))
            .forEach(found::add);
      }
    }
    System.out.printf("ErasureClusterIT: %d shards scrubbed by the peers now up, %d parity"
        + " shards found not matching their stripes%n", scrubbed, found.size());
    assertThat(found).as("parity shards not matching their stripe's data").isEmpty();
  }

  /**
   * Reads every block, one read each (by {@link #READERS} threads, striding), from a fresh
   * read-only handle with three of the six peers down.
   */
  private void readBlocksWithThreeDown(RebalanceCluster c) throws Exception {
    Pattern stripe = Pattern.compile("stripe data:" + c.volumeId + "/\\d+/\\d+@4\\+2");
    Pattern mapNode = Pattern.compile("block map:" + c.volumeId + "/\\d+/\\d+");
    AtomicInteger good = new AtomicInteger();
    AtomicInteger stripeFailed = new AtomicInteger();
    AtomicInteger mapFailed = new AtomicInteger();
    AtomicReference<String> example = new AtomicReference<>();
    int blocks = (int) (SIZE / BLOCK);
    ExecutorService pool = Executors.newFixedThreadPool(READERS);
    try (Torus t = c.client(); BlockVolume v = t.openVolumeReadOnly("vol")) {
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < READERS; r++) {
        int first = r;
        readers.add(pool.submit(() -> {
          ByteBuffer dst = ByteBuffer.allocate(BLOCK);
          for (int b = first; b < blocks; b += READERS) {
            int off = b * BLOCK;
            dst.clear();
            try {
              v.read(off, dst);
            } catch (TorusException e) {
              assertThat(e).as("failed read at %d", off)
                  .isInstanceOf(BlockUnavailableException.class);
              assertThat(e.code()).isEqualTo(ErrorCode.EIO);
              String m = e.getMessage();
              if (stripe.matcher(m).find()) {
                stripeFailed.incrementAndGet();
                example.compareAndSet(null, m);
              } else if (mapNode.matcher(m).find()) {
                mapFailed.incrementAndGet();
              } else {
                throw new AssertionError("read at " + off + " failed naming no stripe: " + m, e);
              }
              continue;
            }
            if (!Arrays.equals(dst.array(), 0, BLOCK, c.model, off, off + BLOCK)) {
              throw new AssertionError("wrong bytes read at " + off + " with three peers down");
            }
            good.incrementAndGet();
          }
          return null;
        }));
      }
      for (Future<?> f : readers) {
        try {
          f.get(3, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Error err ? err : new AssertionError(e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
    System.out.printf("ErasureClusterIT: three peers down: %d blocks read exactly, %d failed"
        + " naming their stripe, %d naming a lost map node; e.g. %s%n", good.get(),
        stripeFailed.get(), mapFailed.get(), example.get());
    assertThat(good.get() + stripeFailed.get() + mapFailed.get()).isEqualTo(blocks);
    assertThat(stripeFailed.get() + mapFailed.get())
        .as("blocks unreadable with three of six peers down").isPositive();
  }

  /**
   * Waits until the rebalancer has put back every shard in {@code lost} on the wiped peer
   * (each one whose stripe still has a shard elsewhere: garbage collection may drop a whole
   * stripe) and the cluster is settled, with a report from each restarted peer ({@code ids})
   * made since it restarted.
   */
  private static void awaitRebuilt(RebalanceCluster c, int wiped, Set<BlockRef> lost,
      List<String> ids, Instant since) throws Exception {
    int[] back = new int[1];
    try {
      c.await("the wiped peer's shards rebuilt and the cluster settled",
          Duration.ofSeconds(210), s -> {
            if (!s.settled() || !ids.stream().allMatch(id -> s.reports().containsKey(id)
                && s.reports().get(id).updated().isAfter(since))) {
              return false;
            }
            try {
              Set<BlockRef> stripes = new HashSet<>();
              for (int i = 0; i < PEERS; i++) {
                if (i != wiped) {
                  c.holdings(i).stream().filter(BlockRef::striped)
                      .forEach(r -> stripes.add(r.stripe()));
                }
              }
              Set<BlockRef> held = c.holdings(wiped);
              int missing = 0;
              for (BlockRef r : lost) {
                if (!held.contains(r) && stripes.contains(r.stripe())) {
                  missing++;
                }
              }
              back[0] = lost.size() - missing;
              return missing == 0;
            } catch (RuntimeException e) {
              return false; // a peer not answering yet
            }
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; " + back[0] + " of " + lost.size()
          + " shards back on the wiped peer", e);
    }
  }

  /**
   * Bytes the reports in {@code s} count as moved since {@code survivors} were read: the peers
   * that were not restarted report their total since they started, the restarted ones count
   * from their restart (a report from before it is not counted).
   */
  private static long movedSince(ClusterStatus s, Map<String, ReplicationReport> survivors,
      List<String> restarted, Instant since) {
    Map<String, ReplicationReport> now = s.reports();
    long moved = 0;
    for (Map.Entry<String, ReplicationReport> e : survivors.entrySet()) {
      moved += now.get(e.getKey()).bytesMoved() - e.getValue().bytesMoved();
    }
    for (String id : restarted) {
      ReplicationReport r = now.get(id);
      if (r != null && r.updated().isAfter(since)) {
        moved += r.bytesMoved();
      }
    }
    return moved;
  }

  /**
   * Corrupts one data shard on peer {@code victim}'s disk and waits until scrub has counted
   * and repaired it; the peer then serves the original bytes and the volume reads back.
   */
  private void scrubRepairsACorruptShard(RebalanceCluster c, int victim, Random rnd)
      throws Exception {
    List<BlockRef> shards = c.holdings(victim).stream()
        .filter(r -> r.striped() && r.kind() == BlockKind.DATA).toList();
    BlockRef ref = shards.get(rnd.nextInt(shards.size()));
    ByteBuffer original = c.peerClient(victim).get(ref, RebalanceCluster.D).join();
    String id = c.nodeId(victim);
    ReplicationReport before = c.status().reports().get(id);
    long t0 = System.nanoTime();
    assertThat(Corruption.flip(c, victim, List.of(ref))).containsExactly(ref);
    try {
      c.peerClient(victim).get(ref, RebalanceCluster.D).join();
      throw new AssertionError("the corrupted copy of " + ref + " still reads as good");
    } catch (CompletionException e) {
      assertThat(e.getCause()).isInstanceOf(io.torus.CorruptBlockException.class);
    }
    System.out.printf("ErasureClusterIT: corrupted shard %s on peer %d (%s)%n", ref, victim,
        id);
    ClusterStatus s = c.await("scrub repairs on peer " + victim, Duration.ofSeconds(90),
        st -> st.reports().get(id).repaired() > before.repaired());
    ReplicationReport after = s.reports().get(id);
    System.out.printf("ErasureClusterIT: scrub on peer %d found %d corrupt and repaired %d"
        + " (of %d scrubbed) in %.1f s%n", victim, after.corruptFound() - before.corruptFound(),
        after.repaired() - before.repaired(), after.scrubbed(), (System.nanoTime() - t0) / 1e9);
    assertThat(after.corruptFound()).isGreaterThan(before.corruptFound());
    assertThat(c.peerClient(victim).get(ref, RebalanceCluster.D).join())
        .as("the repaired copy on peer %d", victim).isEqualTo(original);
    c.verify();
  }

  private static void kill(RebalanceCluster c, int i) throws InterruptedException {
    long pid = c.peers.pid(i);
    c.peers.kill(i);
    System.out.printf("ErasureClusterIT: killed peer %d (pid %d) with SIGKILL%n", i, pid);
  }

  private static Map<Integer, Integer> sizes(Map<Integer, Set<BlockRef>> held) {
    Map<Integer, Integer> out = new java.util.TreeMap<>();
    held.forEach((i, refs) -> out.put(i, refs.size()));
    return out;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  private void lap(String what) {
    long now = System.nanoTime();
    System.out.printf("ErasureClusterIT: %s in %.1f s (%.1f s in all)%n", what,
        (now - lap) / 1e9, (now - start) / 1e9);
    lap = now;
  }
}
