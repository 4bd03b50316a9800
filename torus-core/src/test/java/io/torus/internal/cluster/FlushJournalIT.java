package io.torus.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.BlockVolume;
import io.torus.GcResult;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.FaultProxy;
import io.torus.testing.cluster.MiniCluster;
import io.torus.testing.etcd.EtcdCluster;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flush journal on a real etcd and three in-process peers ({@link MiniCluster}), each
 * writer a client node: flushes commit to the journal; a writer that dies without committing
 * the head leaves them to the next one, which fences the journal and replays it, also with a
 * journal peer down; a writer that lost its lock cannot flush after the takeover; a journal
 * peer that fails makes flushes commit the head instead.
 */
class FlushJournalIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int MIB = 1 << 20;
  private static final int SIZE = 8 * MIB;

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aWriterThatDiesLeavesItsFlushesToTheNextOne() throws Exception {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj1")
        .start()) {
      byte[] model = new byte[SIZE];
      SimpleMeterRegistry m1 = new SimpleMeterRegistry();
      Torus c1 = peers.client(b -> b.meterRegistry(m1));
      c1.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
      peers.awaitRing(Duration.ofSeconds(60));
      BlockVolume v = c1.openVolume("v");
      writeAndFlush(v, model, new Random(1), 20);
      assertThat(commits(m1, "journal")).as("flushes through the journal").isEqualTo(20);
      // the collector runs while the last flushes are only in the journal: it must keep them
      // (the head was never committed: every block lies above its generation, so pending)
      GcResult gc = c1.collectGarbage();
      assertThat(gc.deletedBlocks()).as("nothing flushed is garbage").isZero();
      crash(peers, c1);

      SimpleMeterRegistry m2 = new SimpleMeterRegistry();
      try (Torus c2 = peers.client(b -> b.meterRegistry(m2));
          BlockVolume w = c2.openVolume("v")) {
        assertThat(commits(m2, "head")).as("the replay is committed to the head").isEqualTo(1);
        assertThat(readAll(w)).as("every flushed byte after the replay").isEqualTo(model);
        writeAndFlush(w, model, new Random(2), 5);
      }
      try (Torus c3 = peers.client(b -> { });
          BlockVolume r = c3.openVolumeReadOnly("v")) {
        assertThat(readAll(r)).as("closed cleanly: all in the head").isEqualTo(model);
      }
    }
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void theReplayNeedsOneJournalPeerAndRefusesWithNone() throws Exception {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj2")
        .start()) {
      peers.awaitRing(Duration.ofSeconds(60));
      // the journal has two of the three peers: one of these rounds kills a journal peer
      for (int down = 0; down < 3; down++) {
        byte[] model = new byte[SIZE];
        String name = "v" + down;
        Torus c1 = peers.client(b -> { });
        c1.createVolume(VolumeSpec.builder(name, SIZE).replication(2).build());
        writeAndFlush(c1.openVolume(name), model, new Random(down), 10);
        crash(peers, c1);
        peers.kill(down);
        try (Torus c2 = peers.client(b -> b.ioTimeout(Duration.ofSeconds(4)));
            BlockVolume w = c2.openVolume(name)) {
          assertThat(readAll(w)).as("replayed with peer %d down", down).isEqualTo(model);
        }
        peers.restart(down);
        peers.awaitRing(Duration.ofSeconds(60));
      }

      byte[] model = new byte[SIZE];
      Torus c1 = peers.client(b -> { });
      c1.createVolume(VolumeSpec.builder("w", SIZE).replication(2).build());
      writeAndFlush(c1.openVolume("w"), model, new Random(7), 10);
      crash(peers, c1);
      peers.kill(0);
      peers.kill(1);
      try (Torus c2 = peers.client(b -> b.ioTimeout(Duration.ofSeconds(4))
          .peerTimeout(Duration.ofSeconds(2)))) {
        // without the journal (both its peers down) or without the copies, nothing is opened
        assertThatThrownBy(() -> c2.openVolume("w")).isInstanceOf(TorusException.class);
      }
      peers.restart(0);
      peers.restart(1);
      peers.awaitRing(Duration.ofSeconds(60));
      try (Torus c3 = peers.client(b -> { });
          BlockVolume w = c3.openVolume("w")) {
        assertThat(readAll(w)).as("everything flushed, once the peers are back")
            .isEqualTo(model);
      }
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aWriterCutOffFromEtcdCannotFlushAfterTheTakeover() throws Exception {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj3")
        .start();
        FaultProxy toEtcd = new FaultProxy()) {
      toEtcd.target(URI.create(ETCD.endpoints().get(0)).getPort());
      byte[] model = new byte[SIZE];
      SimpleMeterRegistry m1 = new SimpleMeterRegistry();
      Torus c1 = peers.client(b -> b.meterRegistry(m1)
          .etcd(List.of("http://127.0.0.1:" + toEtcd.port())));
      c1.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
      peers.awaitRing(Duration.ofSeconds(60));
      BlockVolume old = c1.openVolume("v");
      writeAndFlush(old, model, new Random(3), 5);
      assertThat(commits(m1, "journal")).isEqualTo(5);

      toEtcd.mode(FaultProxy.Mode.BLACKHOLE); // its lease runs out; the peers still reach it
      try (Torus c2 = peers.client(b -> { })) {
        BlockVolume w = openWhenFree(c2, "v");
        assertThat(readAll(w)).as("the old writer's flushes, replayed").isEqualTo(model);

        byte[] late = new byte[64 * 1024];
        Arrays.fill(late, (byte) 0x5a);
        // its lost session fences it, or the lease check before an append, or the peers
        assertThatThrownBy(() -> {
          old.write(0, ByteBuffer.wrap(late));
          old.flush();
        }).as("a stale writer's write or flush fails").isInstanceOf(TorusException.class);
        assertThat(readAll(w)).as("nothing of the stale writer reached the volume")
            .isEqualTo(model);
        writeAndFlush(w, model, new Random(4), 3);
        w.close();
      }
      try (Torus c3 = peers.client(b -> { });
          BlockVolume r = c3.openVolumeReadOnly("v")) {
        assertThat(readAll(r)).isEqualTo(model);
      }
      toEtcd.mode(FaultProxy.Mode.PASS); // the old node leaves cleanly (its lock is gone)
      try {
        c1.close();
      } catch (TorusException fenced) {
        // its volume was fenced: closing it reports that
      }
    }
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aFailingJournalPeerMakesFlushesCommitTheHead() throws Exception {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj4")
        .start()) {
      byte[] model = new byte[SIZE];
      SimpleMeterRegistry m1 = new SimpleMeterRegistry();
      try (Torus c1 = peers.client(b -> b.meterRegistry(m1).peerTimeout(Duration.ofSeconds(2)))) {
        c1.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
        peers.awaitRing(Duration.ofSeconds(60));
        try (BlockVolume v = c1.openVolume("v")) {
          Random rnd = new Random(5);
          // the journal has two of the three peers: one of these kills hits it
          for (int down = 0; down < 3; down++) {
            writeAndFlush(v, model, rnd, 2);
            peers.kill(down);
            writeAndFlush(v, model, rnd, 3); // no failure reaches the writer
            peers.restart(down);
            peers.awaitRing(Duration.ofSeconds(60));
            awaitAllUp(c1, peers.size());
          }
          assertThat(readAll(v)).isEqualTo(model);
          assertThat(commits(m1, "head")).as("flushes that committed the head instead")
              .isPositive();
          assertThat(commits(m1, "journal")).as("and through the journal").isPositive();
        }
      }
      try (Torus c2 = peers.client(b -> { });
          BlockVolume r = c2.openVolumeReadOnly("v")) {
        assertThat(readAll(r)).isEqualTo(model);
      }
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void anIdleWritersFlushesReachTheHeadForSnapshotsElsewhere() throws Exception {
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj5")
        .start()) {
      byte[] model = new byte[SIZE];
      SimpleMeterRegistry m1 = new SimpleMeterRegistry();
      try (Torus c1 = peers.client(b -> b.meterRegistry(m1));
          Torus c2 = peers.client(b -> { })) {
        c1.createVolume(VolumeSpec.builder("v", SIZE).replication(2).build());
        peers.awaitRing(Duration.ofSeconds(60));
        try (BlockVolume v = c1.openVolume("v")) {
          writeAndFlush(v, model, new Random(6), 5);
          assertThat(commits(m1, "head")).as("all five in the journal").isZero();
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (commits(m1, "head") == 0 && System.nanoTime() < deadline) {
            Thread.sleep(100); // the writer stopped flushing: its timer commits the head
          }
          assertThat(commits(m1, "head")).as("a head commit of the idle writer").isEqualTo(1);
          c2.createSnapshot("v", "s"); // on another node: it reads the head
          try (BlockVolume s = c2.openSnapshot("v", "s")) {
            assertThat(readAll(s)).as("the snapshot holds the last flush").isEqualTo(model);
          }
        }
      }
    }
  }

  /** Rounds of a write of 1 to 128 KiB at a random offset, each followed by a flush. */
  /**
   * An encrypted volume's journal entries are sealed: the journal peers' files hold no entry
   * in the clear, and the next writer (given the key) replays them; one without it cannot.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void anEncryptedVolumesJournalIsSealedAndReplays() throws Exception {
    io.torus.spi.KeyProvider kek = io.torus.KeyProviders.ofKey(new byte[32]);
    try (MiniCluster peers = MiniCluster.builder(dir).nodes(3).etcd(ETCD.endpoints(), "/fj6")
        .start()) {
      byte[] model = new byte[SIZE];
      SimpleMeterRegistry m1 = new SimpleMeterRegistry();
      Torus c1 = peers.client(b -> b.meterRegistry(m1).keyProvider(kek));
      c1.createVolume(VolumeSpec.builder("e", SIZE).replication(2).encryption(kek).build());
      peers.awaitRing(Duration.ofSeconds(60));
      BlockVolume v = c1.openVolume("e");
      writeAndFlush(v, model, new Random(6), 12);
      assertThat(commits(m1, "journal")).as("flushes through the journal").isEqualTo(12);
      assertThat(journalFilesHold(dir, new byte[] {'T', 'J', 'E', 'N'}))
          .as("a journal entry in the clear").isFalse();
      crash(peers, c1);

      try (Torus none = peers.client(b -> { })) {
        assertThatThrownBy(() -> none.openVolume("e"))
            .isInstanceOf(io.torus.EncryptionKeyException.class);
      }
      SimpleMeterRegistry m2 = new SimpleMeterRegistry();
      try (Torus c2 = peers.client(b -> b.meterRegistry(m2).keyProvider(kek));
          BlockVolume w = c2.openVolume("e")) {
        assertThat(commits(m2, "head")).as("the replay is committed to the head").isEqualTo(1);
        assertThat(readAll(w)).as("every flushed byte after the replay").isEqualTo(model);
      }
      // the same search finds the entries of a volume that is not encrypted
      try (Torus c3 = peers.client(b -> { })) {
        c3.createVolume(VolumeSpec.builder("p", SIZE).replication(2).build());
        try (BlockVolume p = c3.openVolume("p")) {
          writeAndFlush(p, new byte[SIZE], new Random(7), 3);
          assertThat(journalFilesHold(dir, new byte[] {'T', 'J', 'E', 'N'})).isTrue();
        }
      }
    }
  }

  /** Whether any peer's journal file under {@code root} contains {@code needle}. */
  private static boolean journalFilesHold(Path root, byte[] needle) throws java.io.IOException {
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(root)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString()
          .equals("journal.log"))::iterator) {
        byte[] b = java.nio.file.Files.readAllBytes(f);
        for (int i = 0; i + needle.length <= b.length; i++) {
          if (java.util.Arrays.equals(b, i, i + needle.length, needle, 0, needle.length)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static void writeAndFlush(BlockVolume v, byte[] model, Random rnd, int rounds) {
    for (int i = 0; i < rounds; i++) {
      int len = (1 + rnd.nextInt(32)) * 4096;
      int off = rnd.nextInt(SIZE - len);
      byte[] data = new byte[len];
      rnd.nextBytes(data);
      v.write(off, ByteBuffer.wrap(data));
      v.flush();
      System.arraycopy(data, 0, model, off, len);
    }
  }

  /**
   * Ends a writer as a crash would for its volume: every connection to the peers cut, then
   * closed (its head commit fails; the lock is released), the cut lifted again.
   */
  private static void crash(MiniCluster peers, Torus client) {
    for (int i = 0; i < peers.size(); i++) {
      peers.clientProxy(i).mode(FaultProxy.Mode.CUT);
    }
    try {
      client.close();
    } catch (RuntimeException expected) {
      // the head commit of the open volume fails: that is the point
    }
    for (int i = 0; i < peers.size(); i++) {
      if (peers.node(i) != null) {
        peers.clientProxy(i).mode(FaultProxy.Mode.PASS);
      }
    }
  }

  /** Waits until {@code t} sees {@code n} peers registered and its cool-downs are over. */
  private static void awaitAllUp(Torus t, int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (t.cluster().peers().stream().filter(p -> p.up()).count() < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("peers not up: " + t.cluster().peers());
      }
      Thread.sleep(100);
    }
    Thread.sleep(3500); // a peer that failed stays suspect for 3 s
  }

  private static BlockVolume openWhenFree(Torus t, String name) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        return t.openVolume(name);
      } catch (VolumeLockedException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  private static double commits(SimpleMeterRegistry m, String to) {
    return m.find("torus.volume.commits").tag("to", to).counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  private static byte[] readAll(BlockVolume v) {
    ByteBuffer all = ByteBuffer.allocate((int) v.size());
    v.read(0, all);
    return all.array();
  }
}
