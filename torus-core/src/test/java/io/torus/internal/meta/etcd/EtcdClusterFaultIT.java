package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A three-member etcd losing a member during commits, and restarting as a whole. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EtcdClusterFaultIT {
  private static final int COMMITS = 120;

  @RegisterExtension
  final EtcdCluster etcd = EtcdCluster.builder().members(3).build();

  private EtcdMetadataService meta;

  @AfterEach
  void close() {
    if (meta != null) {
      meta.close();
    }
  }

  private EtcdMetadataService open(int ttlSeconds) {
    return EtcdMetadataService.builder().endpoints(etcd.endpoints()).rootPrefix("/faults")
        .leaseTtl(Duration.ofSeconds(ttlSeconds)).requestTimeout(Duration.ofSeconds(2))
        .connectTimeout(Duration.ofSeconds(1)).build();
  }

  @Test
  void killingAMemberDuringCommitsLosesAndDuplicatesNothing() throws Exception {
    meta = open(10);
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("stream", 1 << 20).build());
    VolumeLock lock = meta.lockVolume(v.id(), "writer");
    Head head = lock.head();
    long firstGen = head.generation();
    List<Long> revisions = new ArrayList<>();
    int retries = 0;
    for (int i = 0; i < COMMITS; i++) {
      if (i == COMMITS / 3) {
        etcd.kill(i % 3);
      }
      BlockRef root = new BlockRef(v.id(), head.generation(), i, BlockKind.MAP);
      Head next = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (next == null) {
        try {
          next = meta.commitHead(lock, head, root, head.generation() + 1);
        } catch (TorusException e) {
          // Only an unanswered or failed call may be repeated; a refusal must not happen.
          assertThat(e.isRetryable()).as("commit %d refused: %s", i, e).isTrue();
          assertThat(System.nanoTime()).as("commit %d never went through", i)
              .isLessThan(deadline);
          retries++;
          Thread.sleep(50);
        }
      }
      assertThat(next.generation()).isEqualTo(head.generation() + 1);
      revisions.add(next.revision());
      head = next;
    }
    assertThat(revisions).isSorted().doesNotHaveDuplicates();
    Head last = meta.head(v.id());
    assertThat(last).isEqualTo(head);
    assertThat(last.generation()).isEqualTo(firstGen + COMMITS);
    assertThat(last.root().sequence()).isEqualTo(COMMITS - 1);
    // The head key was written once at create, once at lock and once per commit: a commit
    // applied twice would show as an extra version.
    try (Client raw = Client.builder().endpoints(etcd.endpoint((COMMITS / 3 + 1) % 3)).build()) {
      KeyValue kv = raw.getKVClient().get(ByteSequence.from(meta.keyPrefix() + "volumes/"
          + String.format("%016x", v.id()) + "/head", StandardCharsets.UTF_8))
          .get(5, TimeUnit.SECONDS).getKvs().get(0);
      assertThat(kv.getVersion()).isEqualTo(2 + COMMITS);
    }
    System.out.printf("%d commits through a member kill, %d repeated calls%n", COMMITS, retries);
  }

  @Test
  void wholeClusterRestartIsSurvived() throws Exception {
    meta = open(2);
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("survivor", 1 << 20).build());
    VolumeLock lock = meta.lockVolume(v.id(), "before");
    long oldLease = meta.leaseId();

    etcd.killAll();
    Thread.sleep(3000);
    etcd.restartAll();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long lease = 0;
    while (lease == 0) {
      try {
        lease = meta.leaseId();
      } catch (TorusException e) {
        assertThat(System.nanoTime()).as("no lease after restart: %s", e).isLessThan(deadline);
        Thread.sleep(100);
      }
    }
    assertThat(lease).isNotEqualTo(oldLease);
    assertThat(meta.volume("survivor")).contains(v);
    VolumeLock again = null;
    while (again == null) {
      try {
        again = meta.lockVolume(v.id(), "after");
      } catch (TorusException e) {
        assertThat(System.nanoTime()).as("cannot lock after restart: %s", e)
            .isLessThan(deadline);
        Thread.sleep(100);
      }
    }
    assertThat(again.epoch()).isGreaterThan(lock.epoch());
    assertThat(again.head().generation()).isGreaterThan(lock.head().reserved());
  }
}
