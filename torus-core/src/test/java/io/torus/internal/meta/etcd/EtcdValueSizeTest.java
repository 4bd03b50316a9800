package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.VolumeSpec;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.meta.VersionedRing;
import io.torus.internal.ring.KetamaRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingCodec;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.ring.UnionRing;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Every etcd value stays far under etcd's request limit (1.5 MiB) at 1 000 peers and 10 000
 * volumes: the largest values are built with the longest names the formats allow and the
 * sizes printed. One value per key: the registry, the volumes and the reports grow by keys,
 * not by value size; only the ring (one key) grows with the peers.
 */
class EtcdValueSizeTest {
  private static final int LIMIT = 1536 * 1024;
  /** "Far under": a tenth of the limit. */
  private static final int FAR_UNDER = LIMIT / 10;
  private static final Instant T = Instant.parse("2026-12-01T20:00:00.123456789Z");

  private static String name(char c, int i) {
    String n = c + Integer.toString(i);
    return n + "x".repeat(128 - n.length()); // the longest name allowed
  }

  /** Peers with the ids nodes make for themselves (UUIDs), or the longest ids allowed. */
  private static List<RingPeer> peers(int n, boolean longest) {
    List<RingPeer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String id = longest ? name('p', i) : new UUID(0x5ca1e, i).toString();
      out.add(new RingPeer(id, (4L << 40) + i)); // 4 TiB peers
    }
    return out;
  }

  private static int ringBytes(Ring ring) {
    return bytes(EtcdLayout.encodeRing(new VersionedRing(ring.version(),
        RingCodec.encode(ring))));
  }

  private static int bytes(String value) {
    return value.getBytes(StandardCharsets.UTF_8).length;
  }

  @Test
  void theRingOfAThousandPeersIsFarUnderTheLimit() {
    int[] sizes = new int[4];
    for (int longest = 0; longest < 2; longest++) {
      Ring stable = new KetamaRing(7, peers(1000, longest == 1));
      sizes[2 * longest] = ringBytes(stable);
      sizes[2 * longest + 1] = ringBytes(new UnionRing(8, stable,
          new KetamaRing(8, peers(1001, longest == 1))));
    }
    System.out.printf("ring value, 1000 peers: %d bytes, transition 1000 -> 1001 %d bytes "
        + "(UUID ids); with 128-character ids %d and %d bytes (limit %d)%n", sizes[0],
        sizes[1], sizes[2], sizes[3], LIMIT);
    // The ring is the one value that grows with the peers: a transition holds two rings.
    assertThat(sizes[1]).isLessThan(FAR_UNDER);
    assertThat(sizes[3]).isLessThan(LIMIT / 4);
  }

  @Test
  void registryReportAndVolumeValuesAreSmallWhateverTheCount() {
    PeerInfo peer = new PeerInfo(name('p', 999), "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]"
        + ":65535", Long.MAX_VALUE / 2, Long.MAX_VALUE / 2, 1, T);
    int member = bytes(EtcdLayout.encodePeer(peer, null));
    int alive = bytes(EtcdLayout.encodePeer(peer, Long.MAX_VALUE));
    int report = bytes(EtcdLayout.encodeReport(new ReplicationReport(name('p', 999),
        Long.MAX_VALUE, true, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
        Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, T)));
    long most = io.torus.VolumeQos.MAX_LIMIT;
    VolumeSpec spec = new VolumeSpec(name('v', 9999), 1L << 60, 4 << 20, 16, null,
        new io.torus.Erasure(16, 8), // the longest policy and limits too
        new io.torus.VolumeQos(most, most, most, most, io.torus.VolumeQos.MAX_BURST));
    int info = bytes(EtcdLayout.encodeInfo(10_000, spec, T,
        new CloneOrigin(9_999, name('v', 9998), name('s', 1))));
    BlockRef root = new BlockRef(10_000, Long.MAX_VALUE, Integer.MAX_VALUE, BlockKind.MAP);
    int head = bytes(EtcdLayout.encodeHead(root, Long.MAX_VALUE - 1, Long.MAX_VALUE));
    int lock = bytes(EtcdLayout.encodeLock(Long.MAX_VALUE, name('p', 999)));
    List<String> journalPeers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      journalPeers.add(name('p', i)); // at most one journal peer per copy: replication <= 16
    }
    int journal = bytes(EtcdLayout.encodeJournal(journalPeers, Long.MAX_VALUE));
    int snapshot = bytes(EtcdLayout.encodeSnapshot(new Snapshot(10_000, name('v', 9999),
        name('s', 1), root, Long.MAX_VALUE, 1L << 60, T)));
    System.out.printf("values (bytes, largest possible): peer member %d, alive %d, report %d,"
        + " volume info %d, head %d, lock %d, journal %d, snapshot %d%n", member, alive,
        report, info, head, lock, journal, snapshot);
    System.out.printf("all peer records of 1000 peers: %d KiB in 2000 keys; all volume records"
        + " of 10000 volumes: %d KiB in 40000 keys%n", (member + alive) * 1000 / 1024,
        (long) (info + head + lock + journal) * 10_000 / 1024);
    for (int v : new int[] {member, alive, report, info, head, lock, journal, snapshot}) {
      assertThat(v).isLessThan(4096);
    }
  }
}
