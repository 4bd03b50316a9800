package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.LeaseLostException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Losing etcd past the lease TTL: listeners are told, locks are void, and the node gets a new
 * lease when etcd returns without re-acquiring anything. One fresh etcd per test.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdSessionIT {
  private static final int TTL_SECONDS = 2;

  @RegisterExtension
  final EtcdCluster etcd = EtcdCluster.builder().members(1).build();

  private EtcdMetadataService meta;

  @AfterEach
  void close() {
    if (meta != null) {
      meta.close();
    }
  }

  private EtcdMetadataService open() {
    return EtcdMetadataService.builder().endpoints(etcd.endpoints()).rootPrefix("/session")
        .leaseTtl(Duration.ofSeconds(TTL_SECONDS)).requestTimeout(Duration.ofSeconds(1))
        .connectTimeout(Duration.ofSeconds(1)).build();
  }

  @Test
  void pausedEtcdLosesTheSessionAndTheNodeRecoversWithoutItsLocks() throws Exception {
    meta = open();
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("v", 1 << 20).build());
    VolumeLock lock = meta.lockVolume(v.id(), "me");
    long oldLease = meta.leaseId();
    CountDownLatch lost = new CountDownLatch(1);
    AtomicReference<Throwable> cause = new AtomicReference<>();
    meta.addSessionListener(t -> {
      cause.set(t);
      lost.countDown();
    });

    etcd.pause(0);
    long paused = System.nanoTime();
    assertThat(lost.await(TTL_SECONDS + 5, TimeUnit.SECONDS)).isTrue();
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - paused);
    assertThat(tookMillis).isBetween(TTL_SECONDS * 1000L - 1000, TTL_SECONDS * 1000L + 3000);
    assertThat(cause.get()).isNotNull();
    // Fenced at once, even before etcd answers again.
    assertThatThrownBy(() -> meta.commitHead(lock, lock.head(), null,
        lock.head().generation() + 1)).isInstanceOf(LeaseLostException.class);
    assertThatThrownBy(() -> meta.leaseId()).isInstanceOf(TorusException.class)
        .hasMessageContaining("lease was lost");

    etcd.resume(0);
    long fresh = awaitLease();
    assertThat(fresh).isNotEqualTo(oldLease);
    assertThatThrownBy(() -> meta.commitHead(lock, lock.head(), null,
        lock.head().generation() + 1)).isInstanceOf(LeaseLostException.class);
    VolumeLock again = awaitLock(v.id());
    assertThat(again.epoch()).isGreaterThan(lock.epoch());
    Head h = meta.commitHead(again, again.head(),
        new BlockRef(v.id(), again.head().generation(), 0, BlockKind.MAP),
        again.head().generation() + 1);
    assertThat(meta.head(v.id())).isEqualTo(h);
  }

  @Test
  void wholeEtcdRestartRegrantsTheLease() throws Exception {
    meta = open();
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("kept", 1 << 20).build());
    long oldLease = meta.leaseId();
    CountDownLatch lost = new CountDownLatch(1);
    meta.addSessionListener(t -> lost.countDown());

    etcd.killAll();
    assertThatThrownBy(() -> meta.volumes()).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).isRetryable()).isTrue());
    assertThat(lost.await(TTL_SECONDS + 5, TimeUnit.SECONDS)).isTrue();
    etcd.restartAll();

    long fresh = awaitLease();
    assertThat(fresh).isNotEqualTo(oldLease);
    assertThat(meta.volume("kept")).contains(v);
    VolumeLock l = awaitLock(v.id());
    assertThat(l.head().generation()).isEqualTo(1);
  }

  private long awaitLease() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        return meta.leaseId();
      } catch (TorusException e) {
        assertThat(System.nanoTime()).as("no new lease after etcd came back: %s", e)
            .isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  /** Locks the volume once the lost lease's lock key is gone (bounded). */
  private VolumeLock awaitLock(long volumeId) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        return meta.lockVolume(volumeId, "me-again");
      } catch (VolumeLockedException e) {
        assertThat(System.nanoTime()).as("old lock never went away").isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }
}
