package io.torus.internal.meta.local;

import io.torus.internal.meta.Eventually;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.VersionedRing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ConcurrentUpdateException;
import io.torus.TorusException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The in-process peer registry, ring store and elections of {@link LocalMetadataService}. */
class LocalCoordinationTest {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private final LocalMetadataService meta = LocalMetadataService.inMemory();

  @AfterEach
  void close() {
    meta.close();
  }

  @Test
  void ringUpdatesAreCompareAndSwapAndEveryWatcherSeesEveryVersion() {
    List<Long> early = new CopyOnWriteArrayList<>();
    Subscription s = meta.ring().watch(r -> early.add(r.version()));
    assertThat(meta.ring().read()).isEmpty();
    meta.ring().update(0, new byte[] {1});
    meta.ring().update(1, new byte[] {2});
    assertThatThrownBy(() -> meta.ring().update(1, new byte[] {3}))
        .isInstanceOf(ConcurrentUpdateException.class).hasMessageContaining("is 2");
    List<Long> late = new CopyOnWriteArrayList<>();
    meta.ring().watch(r -> late.add(r.version()));
    meta.ring().update(2, new byte[] {3});
    Eventually.until(WAIT, "all versions seen", () -> early.size() == 3 && late.size() == 2);
    assertThat(early).containsExactly(1L, 2L, 3L);
    assertThat(late).containsExactly(2L, 3L);
    s.close();
    meta.ring().update(3, new byte[] {4});
    Eventually.until(WAIT, "late saw 4", () -> late.contains(4L));
    assertThat(early).containsExactly(1L, 2L, 3L);
    assertThat(meta.ring().read()).contains(new VersionedRing(4, new byte[] {4}));
  }

  @Test
  void peersAreUpUntilTheirRegistryCloses() {
    PeerInfo me = new PeerInfo("solo", "127.0.0.1:7000", 100, 1, 1, Instant.EPOCH);
    assertThatThrownBy(() -> meta.peers().refresh(1, 1)).isInstanceOf(TorusException.class)
        .hasMessageContaining("not registered");
    meta.peers().register(me);
    assertThat(meta.peers().refresh(200, 5)).isEqualTo(me.withUsage(200, 5));
    assertThat(meta.peers().peers()).containsExactly(new PeerStatus(me.withUsage(200, 5), true));
    assertThatThrownBy(() -> meta.peers().remove("solo")).isInstanceOf(TorusException.class)
        .hasMessageContaining("is up");
    meta.peers().close();
    assertThat(meta.peers().peer("solo")).contains(new PeerStatus(me.withUsage(200, 5), false));
    assertThat(meta.peers().remove("solo")).isTrue();
    assertThat(meta.peers().peers()).isEmpty();
  }

  @Test
  void candidatesLeadInTheOrderTheyCampaigned() {
    LeaderElection a = meta.election("gc", "a");
    LeaderElection b = meta.election("gc", "b");
    List<String> events = new CopyOnWriteArrayList<>();
    a.addListener(listener("a", events));
    b.addListener(listener("b", events));
    a.campaign();
    b.campaign();
    assertThat(a.isLeader()).isTrue();
    assertThat(b.isLeader()).isFalse();
    long termA = a.leader().orElseThrow().term();
    assertThat(b.leader()).contains(new LeaderElection.Leader("a", termA));
    a.close();
    assertThat(b.isLeader()).isTrue();
    long termB = b.leader().orElseThrow().term();
    assertThat(termB).isGreaterThan(termA);
    Eventually.until(WAIT, "events told", () -> events.size() == 3);
    assertThat(events).containsExactly("a+" + termA, "a-" + termA, "b+" + termB);
    b.resign();
    assertThat(b.leader()).isEmpty();
    assertThatThrownBy(() -> meta.election("a/b", "x")).isInstanceOf(TorusException.class)
        .hasMessageContaining("bad election name");
  }

  private static LeaderElection.LeadershipListener listener(String id, List<String> events) {
    return new LeaderElection.LeadershipListener() {
      @Override
      public void leadershipGained(long term) {
        events.add(id + "+" + term);
      }

      @Override
      public void leadershipLost(long term, String reason) {
        events.add(id + "-" + term);
      }
    };
  }
}
