package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.LeaseLostException;
import io.torus.TorusClosedException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.VersionedRing;
import io.torus.spi.VolumeLock;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sessions of a shared local service: expiry, and what survives a restart. */
class LocalSessionTest {
  @TempDir
  Path dir;

  @Test
  void anExpiredSessionTellsItsListenersAndItsLockCanNoLongerCommit() {
    try (LocalMetadataService shared = LocalMetadataService.inMemory()) {
      LocalSession a = shared.session();
      LocalSession b = shared.session();
      List<Throwable> lost = new CopyOnWriteArrayList<>();
      a.addSessionListener(lost::add);
      VolumeInfo v = a.createVolume(VolumeSpec.builder("v", 1 << 20).replication(1).build());
      VolumeLock lock = a.lockVolume(v.id(), "a");
      RuntimeException cause = new RuntimeException("cut off");
      a.expire(cause);
      assertThat(lost).containsExactly(cause);
      assertThatThrownBy(() -> a.commitHead(lock, lock.head(), null,
          lock.head().generation() + 1)).isInstanceOf(LeaseLostException.class);
      assertThatThrownBy(() -> a.volumes()).isInstanceOf(TorusClosedException.class);
      VolumeLock taken = b.lockVolume(v.id(), "b");
      assertThat(taken.epoch()).isGreaterThan(lock.epoch());
      a.expire(cause); // once only
      assertThat(lost).hasSize(1);
      b.close();
    }
  }

  @Test
  void membersAndTheRingSurviveARestartWithEveryPeerDown() {
    PeerInfo p1 = new PeerInfo("p1", "127.0.0.1:7001", 100, 1, 1, Instant.EPOCH);
    PeerInfo p2 = new PeerInfo("p2", "127.0.0.1:7002", 200, 2, 1, Instant.EPOCH);
    try (LocalMetadataService shared = LocalMetadataService.open(dir)) {
      LocalSession a = shared.session();
      LocalSession b = shared.session();
      a.peers().register(p1);
      b.peers().register(p2);
      b.peers().refresh(300, 30);
      a.ring().update(0, new byte[] {9, 9});
      assertThat(a.peers().peers()).allMatch(s -> s.up());
    }
    try (LocalMetadataService again = LocalMetadataService.open(dir)) {
      assertThat(again.peers().peers()).extracting(s -> s.info().nodeId() + "=" + s.up())
          .containsExactly("p1=false", "p2=false");
      assertThat(again.peers().peer("p2").orElseThrow().info().capacityBytes())
          .isEqualTo(300);
      assertThat(again.ring().read()).contains(new VersionedRing(1, new byte[] {9, 9}));
    }
  }
}
