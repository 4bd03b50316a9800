package io.torus.internal.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockRef;
import io.torus.BlockVolume;
import io.torus.ReadLevel;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.internal.meta.etcd.EtcdMetadataService;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.UnionRing;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.transport.PeerTransport;
import io.torus.internal.transport.TransportOptions;
import io.torus.testing.cluster.PeerProcesses;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Test helper around a {@link PeerProcesses} cluster: writes and verifies a volume from a
 * client node in this JVM, lists what each peer holds (through its proxy), reads the ring and
 * the peers' replication reports through an etcd metadata service of its own.
 */
final class RebalanceCluster implements AutoCloseable {
  static final int MIB = 1 << 20;
  static final Duration D = Duration.ofSeconds(10);

  final PeerProcesses peers;
  final String etcd;
  final String prefix;
  final EtcdMetadataService meta;
  private final PeerTransport transport;
  byte[] model;
  long volumeId;
  /** Set before {@link #write}: the volume is encrypted with it, and clients are given it. */
  io.torus.spi.KeyProvider kek;

  RebalanceCluster(String etcd, String prefix, int n, List<String> jvmOptions)
      throws IOException {
    this.etcd = etcd;
    this.prefix = prefix;
    this.peers = new PeerProcesses(etcd, prefix, n, jvmOptions);
    this.meta = EtcdMetadataService.builder().endpoints(List.of(etcd)).rootPrefix(prefix)
        .build();
    this.transport = new PeerTransport("checker", TransportOptions.defaults(),
        ForkJoinPool.commonPool());
  }

  Torus client() {
    io.torus.TorusBuilder b = Torus.builder().etcd(List.of(etcd)).etcdPrefix(prefix)
        .peer(false).readLevel(ReadLevel.FIRST).peerTimeout(Duration.ofSeconds(3))
        .ioTimeout(Duration.ofSeconds(20)).cacheBytes(0);
    if (kek != null) {
      b.keyProvider(kek);
    }
    return b.build();
  }

  /** The node id of peer {@code i}. */
  String nodeId(int i) throws IOException {
    return Files.readString(peers.dataDirectory(i).resolve("node-id"), StandardCharsets.UTF_8)
        .trim();
  }

  ClusterStatus status() {
    return ClusterStatus.read(meta);
  }

  /** Waits (bounded) until the status satisfies {@code done}; returns it. */
  ClusterStatus await(String what, Duration timeout, Predicate<ClusterStatus> done)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ClusterStatus s = null;
    while (System.nanoTime() < deadline) {
      try {
        s = status();
        if (done.test(s)) {
          return s;
        }
      } catch (TorusException e) {
        // etcd briefly unavailable: retry
      }
      Thread.sleep(250);
    }
    throw new AssertionError("timed out waiting for " + what + "; last status: ring "
        + (s == null ? null : s.ring()) + ", reports " + (s == null ? null : s.reports()));
  }

  /** Waits until the ring is stable with {@code members} peers and every up peer is done. */
  ClusterStatus awaitSettled(int members, Duration timeout) throws InterruptedException {
    return await("a settled ring of " + members, timeout,
        s -> s.settled() && s.ring().members().size() == members);
  }

  /**
   * Creates volume {@code vol} (R=2, encrypted with {@link #kek} if set) and writes
   * {@code size} random bytes, flushing every 8 MiB.
   */
  void write(long size, int blockSize, long seed) throws Exception {
    VolumeSpec.Builder spec = VolumeSpec.builder("vol", size).blockSize(blockSize)
        .replication(2);
    write((kek == null ? spec : spec.encryption(kek)).build(), seed);
  }

  /**
   * Creates volume {@code vol} as {@code spec} says (its name must be {@code vol}) and writes
   * its whole size of random bytes from {@code seed} in 1 MiB writes, flushing every 8 MiB;
   * the bytes are kept as the {@link #model}.
   */
  void write(VolumeSpec spec, long seed) throws Exception {
    long size = spec.size();
    model = new byte[(int) size];
    new SplittableRandom(seed).nextBytes(model);
    try (Torus c = client()) {
      volumeId = c.createVolume(spec).id();
      awaitWritable(c);
      try (BlockVolume v = c.openVolume("vol")) {
        for (int off = 0; off < size; off += MIB) {
          v.write(off, ByteBuffer.wrap(model, off, MIB));
          if (off % (8 * MIB) == 7 * MIB) {
            v.flush();
          }
        }
        v.flush();
      }
    }
  }

  /** Overwrites {@code [off, off+len)} with new random bytes and flushes. */
  void overwrite(int off, int len, long seed) {
    byte[] fresh = new byte[len];
    new SplittableRandom(seed).nextBytes(fresh);
    try (Torus c = client(); BlockVolume v = c.openVolume("vol")) {
      v.write(off, ByteBuffer.wrap(fresh));
      v.flush();
    }
    System.arraycopy(fresh, 0, model, off, len);
  }

  private static void awaitWritable(Torus c) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (BlockVolume v = c.openVolume("vol")) {
        v.write(0, ByteBuffer.allocate(v.blockSize()));
        v.flush();
        return;
      } catch (TorusException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  /** Reads the whole volume from a fresh client and compares it with the model. */
  void verify() {
    try (Torus c = client(); BlockVolume v = c.openVolumeReadOnly("vol")) {
      for (int off = 0; off < model.length; off += 4 * MIB) {
        int len = Math.min(4 * MIB, model.length - off);
        ByteBuffer b = ByteBuffer.allocate(len);
        v.read(off, b);
        if (!Arrays.equals(b.array(), 0, len, model, off, off + len)) {
          throw new AssertionError("mismatch in [" + off + ", " + (off + len) + ")");
        }
      }
    }
  }

  PeerClient peerClient(int i) {
    return transport.client(new InetSocketAddress("127.0.0.1", peers.proxy(i).port()));
  }

  /** The refs of the volume peer {@code i} holds. */
  Set<BlockRef> holdings(int i) {
    return new TreeSet<>(peerClient(i).list(volumeId, null, 1_000_000, D).join().refs());
  }

  /**
   * Asserts that every block any of {@code live} holds is held by all of its R owners under
   * the stable ring (which must not be a transition); returns the copies per node id.
   */
  Map<String, Integer> assertFullyReplicated(Ring ring, int r, int... live) throws IOException {
    assertThat(ring).isNotInstanceOf(UnionRing.class);
    Map<String, Set<BlockRef>> held = new HashMap<>();
    Set<BlockRef> all = new TreeSet<>();
    for (int i : live) {
      Set<BlockRef> h = holdings(i);
      held.put(nodeId(i), h);
      all.addAll(h);
    }
    assertThat(all).isNotEmpty();
    int under = 0;
    for (BlockRef ref : all) {
      for (String owner : ring.peers(ref, r)) {
        Set<BlockRef> h = held.get(owner);
        if (h == null || !h.contains(ref)) {
          under++;
        }
      }
    }
    assertThat(under).as("copies missing at their owners").isZero();
    Map<String, Integer> copies = new HashMap<>();
    held.forEach((k, v) -> copies.put(k, v.size()));
    return copies;
  }

  /** Sum of bytes every peer reported as moved. */
  long bytesMoved() {
    return status().reports().values().stream().mapToLong(r -> r.bytesMoved()).sum();
  }

  @Override
  public void close() {
    transport.close();
    meta.close();
    peers.close();
  }
}
