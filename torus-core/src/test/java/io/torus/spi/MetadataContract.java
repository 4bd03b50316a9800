package io.torus.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The behaviour every {@link MetadataService} must have. A subclass per implementation gives
 * a fresh, empty service for each test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class MetadataContract {
  /** 1 MiB. */
  protected static final long MIB = 1 << 20;
  private static final int THREADS = 8;

  /** The service under test; fresh and empty for each test. */
  protected MetadataService meta;

  /** A new, empty service; closed by the suite after the test. */
  protected abstract MetadataService newService();

  @BeforeEach
  void openService() {
    meta = newService();
  }

  @AfterEach
  void closeService() {
    if (meta != null) {
      meta.close();
    }
  }

  /**
   * Closes {@link #meta} and returns a new service over the same stored state, to check what
   * outlives a restart. A service whose state lives only in its memory returns {@link #meta}
   * itself, open (the default).
   */
  protected MetadataService reopen() {
    return meta;
  }

  /** Creates a volume of {@code size} bytes with default block size and replication. */
  protected VolumeInfo create(String name, long size) {
    return meta.createVolume(VolumeSpec.builder(name, size).build());
  }

  @Test
  void createdVolumeIsVisibleByNameAndInTheSortedList() {
    VolumeInfo b = meta.createVolume(
        VolumeSpec.builder("beta", 8 * MIB).blockSize(4096).replication(3).build());
    VolumeInfo a = create("alpha", 4 * MIB);

    assertThat(b.name()).isEqualTo("beta");
    assertThat(b.size()).isEqualTo(8 * MIB);
    assertThat(b.blockSize()).isEqualTo(4096);
    assertThat(b.replication()).isEqualTo(3);
    assertThat(b.created()).isNotNull();
    assertThat(a.id()).isPositive().isNotEqualTo(b.id());
    assertThat(meta.volume("beta")).contains(b);
    assertThat(meta.volume("gamma")).isEmpty();
    assertThat(meta.volumes()).containsExactly(a, b);
  }

  @Test
  void newVolumeHasAnEmptyHead() {
    VolumeInfo v = create("v", MIB);
    Head h = meta.head(v.id());
    assertThat(h.volumeId()).isEqualTo(v.id());
    assertThat(h.root()).isNull();
    assertThat(h.generation()).isZero();
  }

  @Test
  void secondCreateOfANameFails() {
    VolumeInfo first = create("dup", MIB);
    assertThatThrownBy(() -> create("dup", 2 * MIB))
        .isInstanceOf(VolumeExistsException.class).hasMessageContaining("dup");
    assertThat(meta.volume("dup")).contains(first);
  }

  @Test
  void racingCreatorsOfOneNameExactlyOneWins() throws Exception {
    for (int round = 0; round < 5; round++) {
      String name = "race-" + round;
      List<Object> outcomes = race(THREADS, i -> create(name, (i + 1) * MIB));
      List<VolumeInfo> winners = new ArrayList<>();
      for (Object o : outcomes) {
        if (o instanceof VolumeInfo v) {
          winners.add(v);
        } else {
          assertThat(o).isInstanceOf(VolumeExistsException.class);
        }
      }
      assertThat(winners).hasSize(1);
      assertThat(meta.volume(name)).contains(winners.get(0));
    }
  }

  @Test
  void concurrentCreatorsGetDistinctIds() throws Exception {
    int perThread = 6;
    List<Object> outcomes = race(THREADS, i -> {
      List<Long> ids = new ArrayList<>();
      for (int j = 0; j < perThread; j++) {
        ids.add(create("c-" + i + "-" + j, MIB).id());
      }
      return ids;
    });
    Set<Long> ids = new HashSet<>();
    for (Object o : outcomes) {
      assertThat(o).isInstanceOf(List.class);
      for (Object id : (List<?>) o) {
        assertThat(ids.add((Long) id)).as("id %s handed out twice", id).isTrue();
      }
    }
    assertThat(ids).hasSize(THREADS * perThread);
    assertThat(meta.volumes()).hasSize(THREADS * perThread);
  }

  @Test
  void idsAreNeverReusedAfterDelete() {
    VolumeInfo a = create("a", MIB);
    meta.deleteVolume("a");
    VolumeInfo again = create("a", MIB);
    VolumeInfo b = create("b", MIB);
    assertThat(again.id()).isGreaterThan(a.id());
    assertThat(b.id()).isGreaterThan(again.id());
    assertThat(meta.head(again.id()).generation()).isZero();
  }

  @Test
  void replicationCanChange() {
    create("rep", 4 * MIB);
    int before = meta.volume("rep").orElseThrow().replication();
    int target = before == 3 ? 2 : 3;
    assertThat(meta.setVolumeReplication("rep", target).replication()).isEqualTo(target);
    assertThat(meta.volume("rep").orElseThrow().replication()).isEqualTo(target);
    assertThat(meta.volume("rep").orElseThrow().size()).isEqualTo(4 * MIB);
    assertThatThrownBy(() -> meta.setVolumeReplication("rep", 0))
        .isInstanceOf(TorusException.class).hasMessageContaining("replication");
    assertThatThrownBy(() -> meta.setVolumeReplication("missing", 2))
        .isInstanceOf(VolumeNotFoundException.class);
    assertThat(meta.volume("rep").orElseThrow().replication()).isEqualTo(target);
  }

  @Test
  void resizeOnlyGrows() {
    create("r", 4 * MIB);
    VolumeInfo grown = meta.resizeVolume("r", 16 * MIB);
    assertThat(grown.size()).isEqualTo(16 * MIB);
    assertThat(meta.volume("r").orElseThrow().size()).isEqualTo(16 * MIB);
    assertThat(meta.resizeVolume("r", 16 * MIB).size()).isEqualTo(16 * MIB);

    assertThatThrownBy(() -> meta.resizeVolume("r", 8 * MIB))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL))
        .hasMessageContaining(String.valueOf(8 * MIB));
    assertThatThrownBy(() -> meta.resizeVolume("r", 16 * MIB + 1))
        .isInstanceOf(TorusException.class).hasMessageContaining("multiple of 512");
    assertThatThrownBy(() -> meta.resizeVolume("missing", 16 * MIB))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("missing");
    assertThat(meta.volume("r").orElseThrow().size()).isEqualTo(16 * MIB);
  }

  @Test
  void deleteRemovesRecordAndHead() {
    VolumeInfo v = create("gone", MIB);
    meta.deleteVolume("gone");
    assertThat(meta.volume("gone")).isEmpty();
    assertThat(meta.volumes()).isEmpty();
    assertThatThrownBy(() -> meta.head(v.id())).isInstanceOf(VolumeNotFoundException.class);
    assertThatThrownBy(() -> meta.lockVolume(v.id(), "w"))
        .isInstanceOf(VolumeNotFoundException.class);
    assertThatThrownBy(() -> meta.deleteVolume("gone"))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("gone");
  }

  @Test
  void lockAdvancesGenerationAndRefusesASecondWriter() {
    VolumeInfo v = create("locked", MIB);
    Head before = meta.head(v.id());
    VolumeLock lock = meta.lockVolume(v.id(), "node-a@10.0.0.1:4000");

    assertThat(lock.volumeId()).isEqualTo(v.id());
    assertThat(lock.holder()).isEqualTo("node-a@10.0.0.1:4000");
    assertThat(lock.epoch()).isPositive();
    assertThat(lock.head().generation()).isEqualTo(before.generation() + 1);
    assertThat(lock.head().revision()).isNotEqualTo(before.revision());
    assertThat(meta.head(v.id())).isEqualTo(lock.head());

    assertThatThrownBy(() -> meta.lockVolume(v.id(), "node-b"))
        .isInstanceOf(VolumeLockedException.class)
        .hasMessageContaining("node-a@10.0.0.1:4000")
        .satisfies(e -> assertThat(((VolumeLockedException) e).holder())
            .isEqualTo("node-a@10.0.0.1:4000"));
    assertThat(meta.head(v.id())).isEqualTo(lock.head());
  }

  @Test
  void unlockThenRelockGivesAGreaterEpochAndGeneration() {
    VolumeInfo v = create("relock", MIB);
    VolumeLock first = meta.lockVolume(v.id(), "a");
    meta.unlock(first);
    meta.unlock(first);
    VolumeLock second = meta.lockVolume(v.id(), "b");
    assertThat(second.epoch()).isGreaterThan(first.epoch());
    // a new writer starts above everything the earlier one may have used (its reservation)
    assertThat(first.head().reserved())
        .isGreaterThanOrEqualTo(first.head().generation() + Head.RESERVATION);
    assertThat(second.head().generation()).isGreaterThan(first.head().reserved());
    assertThat(second.head().reserved())
        .isGreaterThanOrEqualTo(second.head().generation() + Head.RESERVATION);
    assertThat(second.holder()).isEqualTo("b");
    meta.unlock(first);
    assertThatThrownBy(() -> meta.lockVolume(v.id(), "c"))
        .isInstanceOf(VolumeLockedException.class).hasMessageContaining("b");
  }

  @Test
  void commitsStayWithinAndExtendTheWritersReservation() {
    VolumeInfo v = create("reserve", MIB);
    VolumeLock lock = meta.lockVolume(v.id(), "a");
    Head h = lock.head();
    assertThatThrownBy(() -> meta.commitHead(lock, h, null, h.reserved() + 1))
        .isInstanceOf(TorusException.class).hasMessageContaining("reserved");
    Head c = meta.commitHead(lock, h, null, h.reserved());
    assertThat(c.generation()).isEqualTo(h.reserved());
    assertThat(c.reserved()).isEqualTo(h.reserved() + Head.RESERVATION);
    assertThat(meta.head(v.id())).isEqualTo(c);
    meta.unlock(lock);
    assertThat(meta.lockVolume(v.id(), "b").head().generation()).isGreaterThan(c.reserved());
  }

  @Test
  void epochsStrictlyIncreaseAcrossVolumes() {
    long last = 0;
    List<VolumeInfo> vols = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      vols.add(create("e" + i, MIB));
    }
    for (int round = 0; round < 3; round++) {
      for (VolumeInfo v : vols) {
        VolumeLock l = meta.lockVolume(v.id(), "w" + round);
        assertThat(l.epoch()).isGreaterThan(last);
        last = l.epoch();
        meta.unlock(l);
      }
    }
  }

  @Test
  void racingLockersExactlyOneWins() throws Exception {
    VolumeInfo v = create("contended", MIB);
    List<Object> outcomes = race(THREADS, i -> meta.lockVolume(v.id(), "holder-" + i));
    List<VolumeLock> winners = new ArrayList<>();
    for (Object o : outcomes) {
      if (o instanceof VolumeLock l) {
        winners.add(l);
      } else {
        assertThat(o).isInstanceOf(VolumeLockedException.class);
        assertThat(((VolumeLockedException) o).holder()).startsWith("holder-");
      }
    }
    assertThat(winners).hasSize(1);
    assertThat(meta.head(v.id()).generation()).isEqualTo(1);
  }

  @Test
  void commitHeadSwapsTheHead() {
    VolumeInfo v = create("commit", MIB);
    VolumeLock lock = meta.lockVolume(v.id(), "w");
    long gen = lock.head().generation();
    BlockRef root1 = new BlockRef(v.id(), gen, 7, BlockKind.MAP);
    Head h1 = meta.commitHead(lock, lock.head(), root1, gen + 1);
    assertThat(h1.root()).isEqualTo(root1);
    assertThat(h1.generation()).isEqualTo(gen + 1);
    assertThat(h1.volumeId()).isEqualTo(v.id());
    assertThat(meta.head(v.id())).isEqualTo(h1);

    BlockRef root2 = new BlockRef(v.id(), gen + 1, 0, BlockKind.MAP);
    Head h2 = meta.commitHead(lock, h1, root2, gen + 2);
    assertThat(h2.revision()).isNotEqualTo(h1.revision());
    assertThat(meta.head(v.id())).isEqualTo(h2);

    Head h3 = meta.commitHead(lock, h2, null, gen + 3);
    assertThat(h3.root()).isNull();
    assertThat(meta.head(v.id())).isEqualTo(h3);
  }

  @Test
  void commitOnAStaleHeadIsAConcurrentModification() {
    VolumeInfo v = create("stale", MIB);
    VolumeLock lock = meta.lockVolume(v.id(), "w");
    long gen = lock.head().generation();
    Head h1 = meta.commitHead(lock, lock.head(), ref(v, gen), gen + 1);
    assertThatThrownBy(() -> meta.commitHead(lock, lock.head(), ref(v, gen + 1), gen + 2))
        .isInstanceOf(ConcurrentUpdateException.class)
        .hasMessageContaining(String.valueOf(h1.revision()));
    assertThat(meta.head(v.id())).isEqualTo(h1);
  }

  @Test
  void commitWithoutTheLockIsALostLease() {
    VolumeInfo v = create("lost", MIB);
    VolumeLock a = meta.lockVolume(v.id(), "a");
    meta.unlock(a);
    long gen = a.head().generation();
    assertThatThrownBy(() -> meta.commitHead(a, a.head(), ref(v, gen), gen + 1))
        .isInstanceOf(LeaseLostException.class);
    assertThat(meta.head(v.id())).isEqualTo(a.head());

    VolumeLock b = meta.lockVolume(v.id(), "b");
    Head bHead = b.head();
    // A still has B's current head in hand: the lock check alone must refuse it.
    assertThatThrownBy(() -> meta.commitHead(a, bHead, ref(v, gen), bHead.generation() + 1))
        .isInstanceOf(LeaseLostException.class);
    Head committed = meta.commitHead(b, bHead, ref(v, bHead.generation()),
        bHead.generation() + 1);
    assertThat(meta.head(v.id())).isEqualTo(committed);
  }

  @Test
  void commitArgumentsAreChecked() {
    VolumeInfo v = create("args", MIB);
    VolumeInfo other = create("other", MIB);
    VolumeLock lock = meta.lockVolume(v.id(), "w");
    long gen = lock.head().generation();
    assertThatThrownBy(() -> meta.commitHead(lock, lock.head(), null, gen))
        .isInstanceOf(TorusException.class).hasMessageContaining(String.valueOf(gen));
    assertThatThrownBy(() -> meta.commitHead(lock, meta.head(other.id()), null, gen + 1))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    assertThat(meta.head(v.id())).isEqualTo(lock.head());
  }

  @Test
  void deleteIsRefusedWhileLocked() {
    VolumeInfo v = create("busy", MIB);
    VolumeLock lock = meta.lockVolume(v.id(), "writer-1");
    assertThatThrownBy(() -> meta.deleteVolume("busy"))
        .isInstanceOf(VolumeLockedException.class).hasMessageContaining("writer-1");
    assertThat(meta.volume("busy")).contains(v);
    meta.unlock(lock);
    meta.deleteVolume("busy");
    assertThat(meta.volume("busy")).isEmpty();
  }

  @Test
  void deletingVolume2LeavesVolumesWhoseNamesStartWith2() {
    List<String> names = List.of("2", "20", "200", "2x");
    List<VolumeLock> locks = new ArrayList<>();
    List<Head> heads = new ArrayList<>();
    for (String n : names) {
      VolumeInfo v = create(n, MIB);
      VolumeLock l = meta.lockVolume(v.id(), "w-" + n);
      long gen = l.head().generation();
      heads.add(meta.commitHead(l, l.head(), ref(v, gen), gen + 1));
      locks.add(l);
    }
    meta.unlock(locks.get(0));
    meta.deleteVolume("2");

    assertThat(meta.volume("2")).isEmpty();
    assertThat(meta.volumes()).extracting(VolumeInfo::name).containsExactly("20", "200", "2x");
    for (int i = 1; i < names.size(); i++) {
      VolumeLock l = locks.get(i);
      assertThat(meta.head(l.volumeId())).isEqualTo(heads.get(i));
      int idx = i;
      assertThatThrownBy(() -> meta.lockVolume(l.volumeId(), "intruder"))
          .isInstanceOf(VolumeLockedException.class).hasMessageContaining(names.get(idx));
      Head h = heads.get(i);
      assertThat(meta.commitHead(l, h, null, h.generation() + 1).generation())
          .isEqualTo(h.generation() + 1);
    }
  }

  @Test
  void deletingVolumeWithId2LeavesIds20And200() {
    List<VolumeInfo> all = new ArrayList<>();
    while (all.isEmpty() || all.get(all.size() - 1).id() < 201) {
      all.add(create(String.format("v%03d", all.size()), MIB));
    }
    VolumeInfo two = all.stream().filter(v -> v.id() == 2).findFirst().orElseThrow();
    List<Head> heads = new ArrayList<>();
    for (long id : new long[] {20, 200, 21, 201}) {
      VolumeLock l = meta.lockVolume(id, "w" + id);
      long gen = l.head().generation();
      heads.add(meta.commitHead(l, l.head(), new BlockRef(id, gen, 1, BlockKind.MAP), gen + 1));
      meta.unlock(l);
    }
    meta.deleteVolume(two.name());
    all.remove(two);
    assertThat(meta.volumes()).containsExactlyElementsOf(all);
    for (Head h : heads) {
      assertThat(meta.head(h.volumeId())).isEqualTo(h);
    }
  }

  @Test
  void badNamesAndArgumentsAreRejected() {
    create("ok", MIB);
    for (String bad : new String[] {"", ".hidden", "-dash", "a/b", "a b", "x".repeat(129)}) {
      assertThatThrownBy(() -> meta.volume(bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("bad volume name");
      assertThatThrownBy(() -> meta.deleteVolume(bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("bad volume name");
      assertThatThrownBy(() -> meta.resizeVolume(bad, MIB)).isInstanceOf(TorusException.class)
          .hasMessageContaining("bad volume name");
    }
    long id = meta.volume("ok").orElseThrow().id();
    assertThatThrownBy(() -> meta.lockVolume(id, " "))
        .isInstanceOf(TorusException.class).hasMessageContaining("holder");
    assertThatThrownBy(() -> meta.head(id + 1000)).isInstanceOf(VolumeNotFoundException.class)
        .hasMessageContaining(String.valueOf(id + 1000));
    assertThat(meta.volumes()).extracting(VolumeInfo::name).containsExactly("ok");
  }

  // ---- snapshots and clones ----

  /** Locks {@code v}, commits a head with root {@code seq} and returns the lock. */
  private VolumeLock commitRoot(VolumeInfo v, VolumeLock lock, int seq) {
    Head h = meta.head(v.id());
    meta.commitHead(lock, h, new BlockRef(v.id(), h.generation(), seq, BlockKind.MAP),
        h.generation() + 1);
    return lock;
  }

  @Test
  void snapshotFreezesTheCommittedHeadAlsoWhileTheVolumeIsLocked() {
    VolumeInfo v = create("vol", 4 * MIB);
    VolumeLock lock = commitRoot(v, meta.lockVolume(v.id(), "w"), 1);
    Head committed = meta.head(v.id());
    Snapshot s1 = meta.createSnapshot("vol", "s1");
    assertThat(s1.volumeId()).isEqualTo(v.id());
    assertThat(s1.volumeName()).isEqualTo("vol");
    assertThat(s1.fullName()).isEqualTo("vol@s1");
    assertThat(s1.root()).isEqualTo(committed.root());
    assertThat(s1.generation()).isEqualTo(committed.generation());
    assertThat(s1.size()).isEqualTo(4 * MIB);
    assertThat(s1.created()).isNotNull();

    commitRoot(v, lock, 2);
    meta.resizeVolume("vol", 8 * MIB);
    Snapshot s0 = meta.createSnapshot("vol", "s0");
    assertThat(s0.root()).isEqualTo(meta.head(v.id()).root()).isNotEqualTo(s1.root());
    assertThat(s0.size()).isEqualTo(8 * MIB);
    assertThat(meta.snapshot("vol", "s1")).contains(s1);
    assertThat(meta.snapshot("vol", "nope")).isEmpty();
    assertThat(meta.snapshots("vol")).containsExactly(s0, s1);

    assertThatThrownBy(() -> meta.createSnapshot("vol", "s1"))
        .isInstanceOf(VolumeExistsException.class).hasMessageContaining("vol@s1");
    assertThatThrownBy(() -> meta.createSnapshot("missing", "s"))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("missing");
    assertThatThrownBy(() -> meta.snapshots("missing"))
        .isInstanceOf(VolumeNotFoundException.class);
    for (String bad : new String[] {"", ".x", "a/b", "a@b", "a b"}) {
      assertThatThrownBy(() -> meta.createSnapshot("vol", bad))
          .isInstanceOf(TorusException.class).hasMessageContaining("bad snapshot name");
    }
    assertThat(meta.snapshots("vol")).hasSize(2);
  }

  @Test
  void snapshotOfANeverWrittenVolumeHasNoRoot() {
    create("empty", MIB);
    Snapshot s = meta.createSnapshot("empty", "s");
    assertThat(s.root()).isNull();
    assertThat(s.generation()).isZero();
  }

  @Test
  void restoreSwapsTheHeadBackAndIsRefusedWhileLocked() {
    VolumeInfo v = create("r", MIB);
    VolumeLock lock = commitRoot(v, meta.lockVolume(v.id(), "writer-9"), 1);
    Snapshot s = meta.createSnapshot("r", "good");
    commitRoot(v, lock, 2);
    Head before = meta.head(v.id());
    assertThatThrownBy(() -> meta.restoreSnapshot("r", "good"))
        .isInstanceOf(VolumeLockedException.class).hasMessageContaining("writer-9");
    assertThat(meta.head(v.id())).isEqualTo(before);
    meta.unlock(lock);

    Head restored = meta.restoreSnapshot("r", "good");
    assertThat(restored.root()).isEqualTo(s.root());
    assertThat(restored.generation()).isEqualTo(before.generation());
    assertThat(restored.revision()).isNotEqualTo(before.revision());
    assertThat(meta.head(v.id())).isEqualTo(restored);
    VolumeLock next = meta.lockVolume(v.id(), "w2");
    assertThat(next.head().generation()).isGreaterThan(before.generation());
    assertThat(next.head().root()).isEqualTo(s.root());
    meta.unlock(next);
    assertThatThrownBy(() -> meta.restoreSnapshot("r", "missing"))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("r@missing");
  }

  /**
   * A service that stores encrypted volumes keeps their wrapped keys through every change of
   * the record, gives clones exactly their source's keys plus their own, and rekeys by
   * compare-and-swap.
   */
  @Test
  void encryptedVolumesKeepTheirKeysThroughEveryChange() {
    org.junit.jupiter.api.Assumptions.assumeTrue(meta.supportsEncryption());
    io.torus.VolumeKeys keys = io.torus.VolumeKeys.of("static:00000000000000aa",
        new byte[] {1, 2, 3});
    VolumeInfo v = meta.createVolume(new VolumeSpec("enc", 4 * MIB, 4096, 1, keys));
    assertThat(v.encryption()).isEqualTo(keys);
    meta.resizeVolume("enc", 8 * MIB);
    meta.setVolumeReplication("enc", 2);
    assertThat(meta.volume("enc").orElseThrow().encryption()).isEqualTo(keys);
    commitRoot(v, meta.lockVolume(v.id(), "w"), 1);
    meta.createSnapshot("enc", "s");

    assertThatThrownBy(() -> meta.createClone("c0", "enc", "s"))
        .isInstanceOf(TorusException.class).hasMessageContaining("encrypted");
    io.torus.VolumeKeys forged = io.torus.VolumeKeys.of("static:00000000000000aa",
        new byte[] {9}).forClone(v.id(), new byte[] {7});
    assertThatThrownBy(() -> meta.createClone("c0", "enc", "s", forged))
        .isInstanceOf(TorusException.class);
    io.torus.VolumeKeys cloneKeys = keys.forClone(v.id(), new byte[] {4, 5});
    VolumeInfo c = meta.createClone("c1", "enc", "s", cloneKeys);
    assertThat(c.encryption()).isEqualTo(cloneKeys);
    assertThat(meta.volume("c1").orElseThrow().encryption().keys()).extracting(
        io.torus.VolumeKeys.Wrapped::volumeId).containsExactly(0L, v.id());
    assertThat(meta.volume("c0")).isEmpty();

    io.torus.VolumeKeys rewrapped = keys.rewrapped("static:00000000000000bb",
        List.of(new byte[] {6, 6}));
    assertThat(meta.setVolumeKeys("enc", keys, rewrapped).encryption()).isEqualTo(rewrapped);
    assertThat(meta.volume("enc").orElseThrow().encryption()).isEqualTo(rewrapped);
    assertThatThrownBy(() -> meta.setVolumeKeys("enc", keys, rewrapped))
        .isInstanceOf(io.torus.ConcurrentUpdateException.class);
    assertThatThrownBy(() -> meta.setVolumeKeys("enc", rewrapped, cloneKeys))
        .isInstanceOf(TorusException.class).hasMessageContaining("keep its");
    VolumeInfo plain = create("plain", MIB);
    assertThat(plain.encryption()).isNull();
    assertThatThrownBy(() -> meta.setVolumeKeys("plain", null, keys))
        .isInstanceOf(TorusException.class).hasMessageContaining("not encrypted");
  }

  /**
   * An erasure-coded volume keeps its policy through every change of its record and a
   * restart; its clones inherit it; its replication (m+1 copies of its map nodes) is fixed.
   */
  @Test
  void erasureCodedVolumesKeepTheirPolicyThroughCreateCloneResizeAndReopen() {
    io.torus.Erasure policy = new io.torus.Erasure(4, 2);
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("ec", 4 * MIB).blockSize(4096)
        .erasure(policy).build());
    assertThat(v.erasure()).isEqualTo(policy);
    assertThat(v.erasureCoded()).isTrue();
    assertThat(v.replication()).isEqualTo(3);
    assertThat(meta.volume("ec").orElseThrow().erasure()).isEqualTo(policy);
    assertThat(meta.volumes()).filteredOn(i -> i.name().equals("ec"))
        .extracting(VolumeInfo::erasure).containsExactly(policy);

    assertThat(meta.resizeVolume("ec", 8 * MIB).erasure()).isEqualTo(policy);
    assertThat(meta.volume("ec").orElseThrow().erasure()).isEqualTo(policy);
    assertThatThrownBy(() -> meta.setVolumeReplication("ec", 4))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("volume 'ec' is erasure-coded 4+2: its map nodes keep m+1 = 3"
            + " copies")
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    assertThat(meta.volume("ec").orElseThrow().replication()).isEqualTo(3);

    meta.unlock(commitRoot(v, meta.lockVolume(v.id(), "w"), 1));
    meta.createSnapshot("ec", "s");
    VolumeInfo c = meta.createClone("ec-copy", "ec", "s");
    assertThat(c.erasure()).isEqualTo(policy);
    assertThat(c.replication()).isEqualTo(3);
    assertThat(c.blockSize()).isEqualTo(4096);
    assertThat(meta.volume("ec-copy").orElseThrow().erasure()).isEqualTo(policy);
    VolumeInfo plain = create("plain", MIB);
    assertThat(plain.erasure()).isNull();
    assertThat(plain.erasureCoded()).isFalse();
    meta.setVolumeReplication("plain", 1); // a replicated volume's still changes

    meta = reopen();
    assertThat(meta.volume("ec").orElseThrow()).isEqualTo(v.with(8 * MIB, 3));
    assertThat(meta.volume("ec-copy").orElseThrow()).isEqualTo(c);
    assertThat(meta.volume("plain").orElseThrow().erasure()).isNull();
    assertThat(meta.volume("plain").orElseThrow().replication()).isEqualTo(1);
  }

  /**
   * A volume's I/O limits are stored at creation, changed only by setVolumeQos, kept through
   * every other change of its record and a restart, and inherited by clones.
   */
  @Test
  void qosLimitsAreStoredChangedAndKeptThroughCloneResizeAndReopen() {
    io.torus.VolumeQos qos = new io.torus.VolumeQos(500, 200, 100 * MIB, 50 * MIB,
        java.time.Duration.ofMillis(250));
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("q", 4 * MIB).blockSize(4096)
        .qos(qos).build());
    assertThat(v.qos()).isEqualTo(qos);
    assertThat(meta.volume("q").orElseThrow().qos()).isEqualTo(qos);
    assertThat(meta.volumes()).filteredOn(i -> i.name().equals("q"))
        .extracting(VolumeInfo::qos).containsExactly(qos);
    assertThat(create("plain", MIB).qos()).isEqualTo(io.torus.VolumeQos.UNLIMITED);

    io.torus.VolumeQos lower = new io.torus.VolumeQos(0, 100, 0, 0);
    VolumeInfo set = meta.setVolumeQos("q", lower);
    assertThat(set).isEqualTo(v.withQos(lower));
    assertThat(meta.volume("q").orElseThrow()).isEqualTo(set);
    assertThat(meta.setVolumeQos("q", lower)).isEqualTo(set); // the same again: no change
    assertThat(meta.resizeVolume("q", 8 * MIB).qos()).isEqualTo(lower);
    assertThat(meta.setVolumeReplication("q", 3).qos()).isEqualTo(lower);
    assertThat(meta.volume("q").orElseThrow()).isEqualTo(v.with(8 * MIB, 3).withQos(lower));
    assertThatThrownBy(() -> meta.setVolumeQos("nope", lower))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("nope");
    assertThatThrownBy(() -> meta.setVolumeQos("q", null))
        .isInstanceOf(NullPointerException.class);

    meta.unlock(commitRoot(v, meta.lockVolume(v.id(), "w"), 1));
    meta.createSnapshot("q", "s");
    VolumeInfo c = meta.createClone("q-copy", "q", "s");
    assertThat(c.qos()).isEqualTo(lower);
    assertThat(meta.setVolumeQos("q-copy", io.torus.VolumeQos.UNLIMITED).qos())
        .isEqualTo(io.torus.VolumeQos.UNLIMITED);
    assertThat(meta.volume("q").orElseThrow().qos()).isEqualTo(lower); // the origin's stay

    meta = reopen();
    assertThat(meta.volume("q").orElseThrow()).isEqualTo(v.with(8 * MIB, 3).withQos(lower));
    assertThat(meta.volume("q-copy").orElseThrow().qos())
        .isEqualTo(io.torus.VolumeQos.UNLIMITED);
    assertThat(meta.volume("plain").orElseThrow().qos()).isEqualTo(io.torus.VolumeQos.UNLIMITED);
  }

  @Test
  void cloneStartsAtTheSnapshotAndOutlivesItsOrigin() {
    VolumeInfo src = meta.createVolume(VolumeSpec.builder("src", 4 * MIB).blockSize(8192)
        .replication(3).build());
    VolumeLock lock = commitRoot(src, meta.lockVolume(src.id(), "w"), 1);
    Snapshot s = meta.createSnapshot("src", "base");
    meta.resizeVolume("src", 8 * MIB);

    VolumeInfo clone = meta.createClone("copy", "src", "base");
    assertThat(clone.id()).isNotEqualTo(src.id());
    assertThat(clone.size()).isEqualTo(4 * MIB);
    assertThat(clone.blockSize()).isEqualTo(8192);
    assertThat(clone.replication()).isEqualTo(3);
    assertThat(meta.volume("copy")).contains(clone);
    Head ch = meta.head(clone.id());
    assertThat(ch.root()).isEqualTo(s.root());
    assertThat(ch.generation()).isEqualTo(s.generation());
    assertThat(meta.cloneOrigin("copy")).contains(new CloneOrigin(src.id(), "src", "base"));
    assertThat(meta.cloneOrigin("src")).isEmpty();
    assertThat(meta.snapshots("copy")).isEmpty();

    // Writes on either side never show on the other.
    VolumeLock cl = commitRoot(clone, meta.lockVolume(clone.id(), "cw"), 5);
    Head cloneHead = meta.head(clone.id());
    assertThat(meta.head(src.id()).root()).isEqualTo(s.root());
    commitRoot(src, lock, 2);
    assertThat(meta.head(clone.id())).isEqualTo(cloneHead);

    assertThatThrownBy(() -> meta.createClone("copy", "src", "base"))
        .isInstanceOf(VolumeExistsException.class).hasMessageContaining("copy");
    assertThatThrownBy(() -> meta.createClone("c2", "src", "nope"))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("src@nope");
    assertThat(meta.volume("c2")).isEmpty();

    // A clone does not depend on its origin: snapshot and source can go first.
    meta.deleteSnapshot("src", "base");
    meta.unlock(lock);
    meta.deleteVolume("src");
    assertThat(meta.head(clone.id())).isEqualTo(cloneHead);
    assertThat(meta.cloneOrigin("copy")).contains(new CloneOrigin(src.id(), "src", "base"));
    Snapshot ofClone = meta.createSnapshot("copy", "c1");
    assertThat(ofClone.root()).isEqualTo(cloneHead.root());
    meta.unlock(cl);
    assertThat(meta.resizeVolume("copy", 8 * MIB).size()).isEqualTo(8 * MIB);
    assertThat(meta.cloneOrigin("copy")).isPresent();
  }

  @Test
  void deletingSnapshotAOfVolume2LeavesSnapshotAbAndVolume0x20() {
    List<VolumeInfo> all = new ArrayList<>();
    while (all.isEmpty() || all.get(all.size() - 1).id() < 0x20) {
      all.add(create(String.format("v%02d", all.size()), MIB));
    }
    VolumeInfo two = all.stream().filter(v -> v.id() == 2).findFirst().orElseThrow();
    VolumeInfo x20 = all.stream().filter(v -> v.id() == 0x20).findFirst().orElseThrow();
    for (VolumeInfo v : List.of(two, x20)) {
      for (String n : List.of("a", "ab", "a.b", "a-b")) {
        meta.createSnapshot(v.name(), n);
      }
    }
    meta.deleteSnapshot(two.name(), "a");
    assertThat(meta.snapshots(two.name())).extracting(Snapshot::name)
        .containsExactly("a-b", "a.b", "ab");
    assertThat(meta.snapshots(x20.name())).extracting(Snapshot::name)
        .containsExactly("a", "a-b", "a.b", "ab");
    assertThatThrownBy(() -> meta.deleteSnapshot(two.name(), "a"))
        .isInstanceOf(VolumeNotFoundException.class).hasMessageContaining("@a");
    assertThatThrownBy(() -> meta.deleteSnapshot("missing", "a"))
        .isInstanceOf(VolumeNotFoundException.class);
  }

  @Test
  void deletingAVolumeDeletesItsSnapshots() {
    create("d", MIB);
    meta.createSnapshot("d", "s");
    meta.deleteVolume("d");
    assertThatThrownBy(() -> meta.snapshots("d")).isInstanceOf(VolumeNotFoundException.class);
    create("d", MIB);
    assertThat(meta.snapshots("d")).isEmpty();
    assertThat(meta.snapshot("d", "s")).isEmpty();
  }

  @Test
  void liveRootsListEveryHeadAndSnapshotConsistently() {
    VolumeInfo a = create("a", MIB);
    VolumeInfo b = create("b", MIB);
    VolumeLock la = commitRoot(a, meta.lockVolume(a.id(), "w"), 1);
    Snapshot a1 = meta.createSnapshot("a", "a1");
    commitRoot(a, la, 2);
    Snapshot b1 = meta.createSnapshot("b", "b1");
    Head ha = meta.head(a.id());

    LiveRoots first = meta.liveRoots();
    assertThat(first.revision()).isPositive();
    assertThat(first.roots()).containsExactly(
        new LiveRoots.LiveRoot(a.id(), "a", null, ha.root(), ha.generation()),
        new LiveRoots.LiveRoot(a.id(), "a", "a1", a1.root(), a1.generation()),
        new LiveRoots.LiveRoot(b.id(), "b", null, null, 0),
        new LiveRoots.LiveRoot(b.id(), "b", "b1", b1.root(), b1.generation()));
    assertThat(first.roots().get(0).isHead()).isTrue();

    meta.deleteSnapshot("a", "a1");
    LiveRoots second = meta.liveRoots();
    assertThat(second.revision()).isGreaterThan(first.revision());
    assertThat(second.roots()).extracting(LiveRoots.LiveRoot::snapshot)
        .containsExactly(null, null, "b1");
  }

  @Test
  void closedServiceRefusesCalls() {
    create("x", MIB);
    meta.close();
    meta.close();
    assertThatThrownBy(() -> meta.volumes()).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.ESHUTDOWN));
  }

  /** A map-node ref of volume {@code v} in generation {@code gen}. */
  protected static BlockRef ref(VolumeInfo v, long gen) {
    return new BlockRef(v.id(), Math.max(1, gen), 0, BlockKind.MAP);
  }

  /** A task of one racer. */
  @FunctionalInterface
  protected interface Racer {
    /** Runs racer {@code i}. */
    Object run(int i) throws Exception;
  }

  /**
   * Runs {@code n} racers released at once; returns each one's result or the exception it
   * threw.
   */
  protected static List<Object> race(int n, Racer racer) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch start = new CountDownLatch(1);
      AtomicInteger ready = new AtomicInteger();
      List<Future<Object>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int idx = i;
        Callable<Object> c = () -> {
          ready.incrementAndGet();
          start.await();
          try {
            return racer.run(idx);
          } catch (TorusException e) {
            return e;
          }
        };
        futures.add(pool.submit(c));
      }
      start.countDown();
      List<Object> out = new ArrayList<>();
      for (Future<Object> f : futures) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      assertThat(ready.get()).isEqualTo(n);
      return out;
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
