package io.torus.benchmarks.scale;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.Torus;
import io.torus.TorusResources;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStores;
import io.torus.spi.StoreConfig;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The peers of one JVM of the scale harness: in-process Torus peers on one etcd, sharing one
 * {@link TorusResources} (pools, event loops, clocks) and one meter registry, each with its own
 * memory store.
 *
 * <p>A tracker thread reads every peer's {@code torus.cluster.ring.version} gauge every
 * millisecond and, for each version, the peer's {@code torus.cluster.ring.adopted} gauge:
 * the wall-clock time (microseconds) at which the peer itself took that ring version. That is
 * how long a ring change took to reach it, whatever the tracker's own delays.
 *
 * <p>Run as a child JVM by {@link RemoteHost} ({@link #main}: one command a line on standard
 * input, one answer a line on standard output), or in-process by the integration test.
 * Commands are issued from one thread.
 */
final class PeerHost implements Host {
  /**
   * Deadline of one peer request: longer than the 5 s default, because hundreds of peers on
   * two shared cores are sometimes starved for seconds (see scale.md).
   */
  static final Duration PEER_TIMEOUT = Duration.ofSeconds(30);

  private final List<String> etcd;
  private final String prefix;
  private final long storeBytes;
  private final Duration leaseTtl;
  private final TorusResources resources;
  private final MeterRegistry meters = new SimpleMeterRegistry();
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private final Thread tracker;
  private volatile boolean closed;
  private final long baseHeap;
  private final int baseThreads;

  private record Peer(String id, Torus node, BlockStore store, Gauge ring, Gauge adopted,
      Map<Long, Long> seen) {}

  PeerHost(List<String> etcd, String prefix, long storeBytes, int ioThreads, int peerThreads,
      Duration leaseTtl) {
    this.etcd = List.copyOf(etcd);
    this.leaseTtl = leaseTtl;
    this.prefix = prefix;
    this.storeBytes = storeBytes;
    this.baseHeap = heapAfterGc();
    this.baseThreads = Thread.activeCount();
    this.resources = TorusResources.create(ioThreads, peerThreads, System::nanoTime,
        Clock.systemUTC());
    this.tracker = new Thread(this::track, "scale-ring-tracker");
    tracker.setDaemon(true);
    tracker.start();
  }

  @Override
  public long start(List<String> ids) throws Exception {
    long t0 = System.nanoTime();
    ExecutorService starters = Executors.newFixedThreadPool(Math.min(8, ids.size()));
    try {
      List<Future<Peer>> started = new ArrayList<>();
      for (String id : ids) {
        started.add(starters.submit(() -> startPeerRetrying(id)));
      }
      for (Future<Peer> f : started) {
        peers.add(f.get());
      }
    } finally {
      starters.shutdown();
    }
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /**
   * Starts a peer, trying twice more after a TorusException (etcd answering "request timed
   * out" while hundreds of peers start on two cores): a node that cannot start says so, and
   * an operator starts it again; the harness does the same.
   */
  private Peer startPeerRetrying(String id) throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        return startPeer(id);
      } catch (io.torus.TorusException e) {
        if (attempt == 3) {
          throw e;
        }
        System.err.println("peer " + id + " did not start (attempt " + attempt + "): " + e);
        Thread.sleep(2000);
      }
    }
  }

  private Peer startPeer(String id) {
    BlockStore store = BlockStores.open("memory", new StoreConfig(null, storeBytes, Map.of()));
    Torus node = Torus.builder().etcd(etcd).etcdPrefix(prefix).nodeId(id).addStore(store)
        .resources(resources).meterRegistry(meters).cacheBytes(1 << 20)
        .gcInterval(Duration.ZERO).scrubInterval(Duration.ofHours(1))
        .antiEntropyInterval(Duration.ofMinutes(1)).peerTimeout(PEER_TIMEOUT).leaseTtl(leaseTtl)
        .build();
    Gauge ring = Search.in(meters).name("torus.cluster.ring.version").tag("node", id).gauge();
    Gauge adopted = Search.in(meters).name("torus.cluster.ring.adopted").tag("node", id)
        .gauge();
    if (ring == null || adopted == null) {
      node.close();
      throw new IllegalStateException("peer " + id + " has no ring version gauges");
    }
    return new Peer(id, node, store, ring, adopted, new ConcurrentHashMap<>());
  }

  private void track() {
    while (!closed) {
      for (Peer p : peers) {
        // the node's own record of when it adopted the version: the tracker's polling (and
        // its waits for CPU) adds nothing; read around the version to pair them
        double at = p.adopted().value();
        long v = (long) p.ring().value();
        if (v > 0 && !p.seen().containsKey(v) && at == p.adopted().value()) {
          p.seen().put(v, Math.round(at * 1e6));
        }
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static final long MICROS_BASE = System.currentTimeMillis() * 1000;
  private static final long NANOS_BASE = System.nanoTime();

  /** Wall-clock microseconds, monotonic within this JVM. */
  static long nowMicros() {
    return MICROS_BASE + (System.nanoTime() - NANOS_BASE) / 1000;
  }

  @Override
  public List<Long> ringSeen(long version) {
    List<Long> out = new ArrayList<>();
    for (Peer p : peers) {
      long first = -1;
      for (Map.Entry<Long, Long> e : p.seen().entrySet()) {
        if (e.getKey() >= version && (first < 0 || e.getValue() < first)) {
          first = e.getValue();
        }
      }
      out.add(first);
    }
    return out;
  }

  @Override
  public long[] stats() {
    long heap = heapAfterGc();
    long nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getUsed();
    return new long[] {peers.size(), heap - baseHeap, nonHeap,
        Thread.activeCount() - baseThreads, rssBytes()};
  }

  @Override
  public long[] storage() {
    long used = 0;
    long moved = 0;
    long scrubbed = 0;
    for (Peer p : peers) {
      used += p.store().used();
    }
    AtomicLong m = new AtomicLong();
    Search.in(meters).name("torus.rebalance.moved").functionCounters()
        .forEach(c -> m.addAndGet((long) c.count()));
    moved = m.get();
    AtomicLong s = new AtomicLong();
    Search.in(meters).name("torus.scrub.scrubbed").functionCounters()
        .forEach(c -> s.addAndGet((long) c.count()));
    scrubbed = s.get();
    return new long[] {used, moved, scrubbed};
  }

  @Override
  public long used(String id) {
    for (Peer p : peers) {
      if (p.id().equals(id)) {
        return p.store().used();
      }
    }
    return -1;
  }

  @Override
  public long[] mapBlocks(long volumeId) {
    long count = 0;
    long bytes = 0;
    long data = 0;
    for (Peer p : peers) {
      List<ByteBuffer> maps = new ArrayList<>();
      long[] d = {0};
      p.store().forEach(volumeId, r -> {
        if (r.kind() == BlockKind.MAP) {
          maps.add(p.store().get(r));
        } else {
          d[0]++;
        }
      });
      count += maps.size();
      for (ByteBuffer b : maps) {
        bytes += b.remaining();
      }
      data += d[0];
    }
    return new long[] {count, bytes, data};
  }

  @Override
  public long stop() {
    if (closed) {
      return 0;
    }
    long t0 = System.nanoTime();
    ExecutorService stoppers = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (Peer p : peers) {
        done.add(stoppers.submit(() -> p.node().close()));
      }
      for (Future<?> f : done) {
        try {
          f.get();
        } catch (Exception e) {
          System.err.println("closing a peer failed: " + e);
        }
      }
    } finally {
      stoppers.shutdown();
    }
    peers.clear();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    closed = true;
    tracker.interrupt();
    resources.close();
    return ms;
  }

  private static long heapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (Exception e) {
      return -1;
    }
    return -1;
  }

  /**
   * Child JVM entry: {@code PeerHost ETCD_URLS PREFIX STORE_BYTES IO_THREADS PEER_THREADS
   * LEASE_TTL_SECONDS},
   * then commands on standard input (see {@link RemoteHost}).
   */
  public static void main(String[] args) throws Exception {
    PeerHost host = new PeerHost(List.of(args[0].split(",")), args[1], Long.parseLong(args[2]),
        Integer.parseInt(args[3]), Integer.parseInt(args[4]),
        Duration.ofSeconds(Long.parseLong(args[5])));
    RemoteHost.serve(host, System.in, System.out);
  }
}
