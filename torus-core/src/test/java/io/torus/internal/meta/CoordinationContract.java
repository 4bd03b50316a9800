package io.torus.internal.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ConcurrentUpdateException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every coordination service must do for several nodes that share it: each node has a
 * session (an etcd client with its lease, or a local session of one shared service); they see
 * the same peers, ring, locks and elections, and what a session holds ends with it. A
 * subclass per implementation gives sessions of one fresh, empty cluster per test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class CoordinationContract {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

  /** A node's session: its metadata and coordination are one object. */
  protected interface Session extends AutoCloseable {
    MetadataService meta();

    Coordination coordination();

    @Override
    void close();
  }

  /** A new session of this test's cluster (every call in one test joins the same one). */
  protected abstract Session newSession();

  private final List<Session> open = new ArrayList<>();

  private Session session() {
    Session s = newSession();
    open.add(s);
    return s;
  }

  @AfterEach
  void closeSessions() {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private static PeerInfo peer(String id, int port) {
    return new PeerInfo(id, "127.0.0.1:" + port, 1000, 10, 1, T0);
  }

  @Test
  void everySessionSeesEveryPeerAndAPeerIsDownOnceItsSessionEnds() {
    Session a = session();
    Session b = session();
    a.coordination().peers().register(peer("node-a", 7001));
    b.coordination().peers().register(peer("node-b", 7002));
    for (Session s : List.of(a, b)) {
      assertThat(s.coordination().peers().peers()).extracting(p -> p.info().nodeId() + "="
          + p.up()).containsExactly("node-a=true", "node-b=true");
    }
    assertThatThrownBy(() -> a.coordination().peers().remove("node-b"))
        .isInstanceOf(TorusException.class).hasMessageContaining("is up");
    PeerInfo refreshed = b.coordination().peers().refresh(2000, 20);
    b.close();
    Eventually.until(WAIT, "node-b down", () -> a.coordination().peers().peer("node-b")
        .map(p -> !p.up()).orElse(false));
    assertThat(a.coordination().peers().peer("node-b").orElseThrow().info().nodeId())
        .isEqualTo(refreshed.nodeId());
    assertThat(a.coordination().peers().remove("node-b")).isTrue();
    assertThat(a.coordination().peers().peers()).extracting(p -> p.info().nodeId())
        .containsExactly("node-a");
  }

  @Test
  void theRingIsOneCompareAndSwapValueThatEverySessionWatches() {
    Session a = session();
    Session b = session();
    List<Long> seenByB = new CopyOnWriteArrayList<>();
    b.coordination().ring().watch(r -> seenByB.add(r.version()));
    a.coordination().ring().update(0, new byte[] {1});
    assertThatThrownBy(() -> b.coordination().ring().update(0, new byte[] {2}))
        .isInstanceOf(ConcurrentUpdateException.class);
    b.coordination().ring().update(1, new byte[] {3});
    Eventually.until(WAIT, "b saw both versions", () -> seenByB.contains(2L));
    assertThat(seenByB).containsSubsequence(1L, 2L);
    assertThat(a.coordination().ring().read()).contains(new VersionedRing(2, new byte[] {3}));
  }

  @Test
  void aLockIsExclusiveAcrossSessionsAndEndsWithItsSession() {
    Session a = session();
    Session b = session();
    VolumeInfo v = a.meta().createVolume(VolumeSpec.builder("v", 1 << 20).replication(1)
        .build());
    assertThat(b.meta().volume("v")).contains(v);
    VolumeLock lock = a.meta().lockVolume(v.id(), "node-a");
    assertThatThrownBy(() -> b.meta().lockVolume(v.id(), "node-b"))
        .isInstanceOf(VolumeLockedException.class);
    assertThat(b.coordination().authority().isCurrent(v.id(), lock.epoch())).isTrue();
    assertThat(b.coordination().authority().isCurrent(v.id(), lock.epoch() + 1)).isFalse();
    a.close();
    VolumeLock next = awaitLock(b, v);
    assertThat(next.epoch()).isGreaterThan(lock.epoch());
    assertThat(next.head().generation()).isGreaterThan(lock.head().reserved());
    // An epoch once confirmed may stay confirmed (peers only ask about higher ones), so only
    // the new epoch is checked here.
    assertThat(b.coordination().authority().isCurrent(v.id(), next.epoch())).isTrue();
    assertThat(b.coordination().authority().isCurrent(v.id(), next.epoch() + 1)).isFalse();
  }

  private static VolumeLock awaitLock(Session s, VolumeInfo v) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try {
        return s.meta().lockVolume(v.id(), "node-b");
      } catch (VolumeLockedException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.onSpinWait();
      }
    }
  }

  @Test
  void everySessionPresentsTheSameClusterToken() {
    Session a = session();
    Session b = session();
    byte[] token = a.coordination().authority().clusterToken();
    assertThat(token).hasSize(16);
    assertThat(b.coordination().authority().clusterToken()).isEqualTo(token);
  }

  @Test
  void leadershipMovesToTheNextCandidateWhenTheLeadersSessionEnds() {
    Session a = session();
    Session b = session();
    LeaderElection ea = a.coordination().election("gc", "node-a");
    LeaderElection eb = b.coordination().election("gc", "node-b");
    ea.campaign();
    Eventually.until(WAIT, "a leads", ea::isLeader);
    eb.campaign();
    assertThat(eb.isLeader()).isFalse();
    assertThat(eb.leader().orElseThrow().candidate()).isEqualTo("node-a");
    a.close();
    Eventually.until(WAIT, "b leads", eb::isLeader);
    assertThat(eb.leader().orElseThrow().candidate()).isEqualTo("node-b");
  }
}
