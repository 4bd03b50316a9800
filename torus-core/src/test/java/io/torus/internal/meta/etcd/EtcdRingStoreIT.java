package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.torus.ConcurrentUpdateException;
import io.torus.TorusException;
import io.torus.internal.meta.Eventually;
import io.torus.internal.meta.RingStore;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.VersionedRing;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The ring in a real three-member etcd: compare-and-swap updates, watches that every node
 * sees, and watches that survive a member's death, compaction and a whole-cluster restart.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EtcdRingStoreIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @RegisterExtension
  final EtcdCluster etcd = EtcdCluster.builder().members(3).build();

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private EtcdMetadataService node(List<String> endpoints) {
    EtcdMetadataService m = EtcdMetadataService.builder().endpoints(endpoints)
        .rootPrefix("/ring").leaseTtl(Duration.ofSeconds(10))
        .requestTimeout(Duration.ofSeconds(2)).connectTimeout(Duration.ofSeconds(1)).build();
    open.add(m);
    return m;
  }

  /** Records every version a watch delivers. */
  private List<Long> watch(RingStore store) {
    List<Long> seen = new CopyOnWriteArrayList<>();
    Subscription s = store.watch(r -> {
      assertThat(r.bytes()).isEqualTo(ring(r.version()));
      seen.add(r.version());
    });
    open.add(s::close);
    return seen;
  }

  private static byte[] ring(long version) {
    return ("ring-" + version).getBytes(StandardCharsets.US_ASCII);
  }

  /** Updates to the next version, retrying only while etcd is unreachable (bounded). */
  private static VersionedRing bump(RingStore store, long expected) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try {
        return store.update(expected, ring(expected + 1));
      } catch (TorusException e) {
        if (!e.isRetryable() || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  @Test
  void everyNodeSeesEveryRingChangeInOrder() throws Exception {
    List<EtcdMetadataService> nodes = new ArrayList<>();
    List<List<Long>> seen = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(node(List.of(etcd.endpoint(i))));
      seen.add(watch(nodes.get(i).ring()));
    }
    assertThat(nodes.get(0).ring().read()).isEmpty();
    int changes = 30;
    for (int v = 0; v < changes; v++) {
      RingStore writer = nodes.get(v % 3).ring();
      assertThat(bump(writer, v).version()).isEqualTo(v + 1);
    }
    List<Long> all = new ArrayList<>();
    for (long v = 1; v <= changes; v++) {
      all.add(v);
    }
    for (List<Long> s : seen) {
      Eventually.until(WAIT, "every version seen: " + s, () -> s.size() == changes);
      assertThat(s).containsExactlyElementsOf(all);
    }
    assertThat(nodes.get(2).ring().read()).contains(new VersionedRing(changes, ring(changes)));
    // A late watcher is told the current ring first.
    List<Long> late = watch(nodes.get(1).ring());
    Eventually.until(WAIT, "late watcher told the current ring", () -> !late.isEmpty());
    assertThat(late).containsExactly((long) changes);
  }

  @Test
  void staleCompareAndSwapIsRefusedAndStoresNothing() {
    RingStore a = node(etcd.endpoints()).ring();
    RingStore b = node(etcd.endpoints()).ring();
    a.update(0, ring(1));
    assertThatThrownBy(() -> b.update(0, ring(1)))
        .isInstanceOf(ConcurrentUpdateException.class).hasMessageContaining("is 1");
    b.update(1, ring(2));
    assertThatThrownBy(() -> a.update(1, new byte[] {9}))
        .isInstanceOf(ConcurrentUpdateException.class).hasMessageContaining("is 2");
    assertThat(a.read()).contains(new VersionedRing(2, ring(2)));
    assertThatThrownBy(() -> a.update(-1, ring(0))).isInstanceOf(TorusException.class)
        .hasMessageContaining("-1");
  }

  @Test
  void watchResumesFromTheLastSeenRevisionAfterItsMemberDies() throws Exception {
    RingStore watched = node(List.of(etcd.endpoint(0))).ring();
    RingStore writer = node(List.of(etcd.endpoint(1), etcd.endpoint(2))).ring();
    List<Long> seen = watch(watched);
    bump(writer, 0);
    Eventually.until(WAIT, "version 1 seen", () -> seen.contains(1L));

    etcd.kill(0);
    bump(writer, 1);
    bump(writer, 2);
    etcd.restart(0);
    bump(writer, 3);

    Eventually.until(WAIT, "versions 2 to 4 seen after reconnect: " + seen,
        () -> seen.contains(4L));
    // Resumed from the last seen revision + 1: nothing skipped, nothing repeated.
    assertThat(seen).containsExactly(1L, 2L, 3L, 4L);
  }

  @Test
  void watchRecoversAfterItsHistoryWasCompactedWhileItWasIdle() throws Exception {
    RingStore watched = node(List.of(etcd.endpoint(0))).ring();
    RingStore writer = node(List.of(etcd.endpoint(1), etcd.endpoint(2))).ring();
    List<Long> seen = watch(watched);
    bump(writer, 0);
    Eventually.until(WAIT, "version 1 seen", () -> seen.contains(1L));

    etcd.kill(0);
    bump(writer, 1);
    bump(writer, 2);
    try (Client c = Client.builder().endpoints(etcd.endpoint(1)).build()) {
      long rev = c.getKVClient().put(bs("/ring/unrelated"), bs("x")).get(10, TimeUnit.SECONDS)
          .getHeader().getRevision();
      c.getKVClient().compact(rev).get(10, TimeUnit.SECONDS);
    }
    etcd.restart(0);

    Eventually.until(WAIT, "newest version 3 seen after compaction: " + seen,
        () -> seen.contains(3L));
    bump(writer, 3);
    Eventually.until(WAIT, "a later change seen: " + seen, () -> seen.contains(4L));
    // Version 2 was compacted away before the watch could resume: it re-read instead.
    assertThat(seen).containsExactly(1L, 3L, 4L);
  }

  @Test
  void ringChangeMadeWhileTheClusterWasDownIsSeenAfterAWholeRestart() throws Exception {
    RingStore watched = node(etcd.endpoints()).ring();
    List<Long> seen = watch(watched);
    bump(node(etcd.endpoints()).ring(), 0);
    Eventually.until(WAIT, "version 1 seen", () -> seen.contains(1L));

    etcd.killAll();
    etcd.restartAll();
    // A node that was not connected before changes the ring before the watcher reconnects.
    EtcdMetadataService fresh = node(etcd.endpoints());
    bump(fresh.ring(), 1);
    Eventually.until(WAIT, "version 2 seen after the restart: " + seen,
        () -> seen.contains(2L));
    bump(fresh.ring(), 2);
    Eventually.until(WAIT, "version 3 seen: " + seen, () -> seen.contains(3L));
    assertThat(seen).containsExactly(1L, 2L, 3L);
  }

  private static ByteSequence bs(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
