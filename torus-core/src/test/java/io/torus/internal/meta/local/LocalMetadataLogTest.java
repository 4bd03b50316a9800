package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The head log of a persisted {@link LocalMetadataService}: replay after a crash, torn tails,
 * corruption, checkpoints, group commit and failed forces. A crash is the directory's files
 * copied while the service is open (what a {@code kill -9} leaves: every write is in the
 * page cache).
 */
class LocalMetadataLogTest {
  private static final int RECORD = HeadChange.SIZE;
  private static final int HEADER = HeadLog.HEADER_SIZE;

  @TempDir Path dir;
  @TempDir Path crash;
  private LocalMetadataService meta;
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void tearDown() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    if (meta != null) {
      meta.close();
    }
  }

  private long create(String name) {
    return meta.createVolume(VolumeSpec.builder(name, 1 << 20).replication(1).build()).id();
  }

  private static Head commit(MetadataSpi meta, VolumeLock lock, Head h) {
    long gen = h.generation() + 1;
    return meta.commitHead(lock, h, new BlockRef(lock.volumeId(), gen, 0, BlockKind.MAP), gen);
  }

  /** The service's head-change calls, for {@link #commit}. */
  private interface MetadataSpi {
    Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation);
  }

  private Head commit(VolumeLock lock, Head h) {
    return commit(meta::commitHead, lock, h);
  }

  private Path logFile() {
    return dir.resolve(LocalStateFile.LOG);
  }

  /** Copies the files of the open directory, as a crash would leave them. */
  private Path crashImage() throws IOException {
    for (String f : new String[] {LocalStateFile.STATE, LocalStateFile.LOG}) {
      if (Files.exists(dir.resolve(f))) {
        Files.copy(dir.resolve(f), crash.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return crash;
  }

  private static long stateRevision(Path d) throws IOException {
    byte[] b = Files.readAllBytes(d.resolve(LocalStateFile.STATE));
    return LocalStateCodec.decode(b, "state").revision();
  }

  @Test
  void manyCommitsReplayAfterACrashAsCommitted() throws IOException {
    meta = LocalMetadataService.open(dir);
    List<VolumeLock> locks = new ArrayList<>();
    List<Head> heads = new ArrayList<>();
    long[] ids = {create("v0"), create("v1"), create("v2")};
    for (int i = 0; i < 3; i++) {
      VolumeLock l = meta.lockVolume(ids[i], "w");
      locks.add(l);
      heads.add(l.head());
    }
    long checkpointed = stateRevision(dir);
    for (int n = 0; n < 300; n++) {
      int i = n % 3;
      heads.set(i, commit(locks.get(i), heads.get(i)));
    }
    assertThat(Files.size(logFile())).isEqualTo(HEADER + 303L * RECORD); // 3 locks, 300 commits
    assertThat(stateRevision(dir)).isEqualTo(checkpointed); // the state file was not rewritten

    try (LocalMetadataService back = LocalMetadataService.open(crashImage())) {
      for (int i = 0; i < 3; i++) {
        assertThat(back.head(locks.get(i).volumeId())).isEqualTo(heads.get(i));
      }
      // Revisions keep growing; the open checkpointed and emptied the log.
      VolumeLock again = back.lockVolume(locks.get(0).volumeId(), "w2");
      assertThat(again.epoch()).isGreaterThan(heads.get(2).revision());
      assertThat(Files.size(crash.resolve(LocalStateFile.LOG))).isEqualTo(HEADER + RECORD);
    }
  }

  @Test
  void closeCheckpointsAndEmptiesTheLog() throws IOException {
    meta = LocalMetadataService.open(dir);
    VolumeLock l = meta.lockVolume(create("a"), "w");
    Head h = commit(l, commit(l, l.head()));
    meta.close();
    meta = null;
    assertThat(Files.size(logFile())).isEqualTo(HEADER);
    assertThat(stateRevision(dir)).isEqualTo(h.revision());
    meta = LocalMetadataService.open(dir);
    assertThat(meta.head(l.volumeId())).isEqualTo(h);
  }

  @Test
  void aFullLogGoesToACheckpoint() throws IOException {
    long bound = HEADER + 10L * RECORD;
    meta = LocalMetadataService.open(dir, Clock.systemUTC(), bound);
    VolumeLock l = meta.lockVolume(create("a"), "w");
    Head h = l.head();
    long checkpoints = 0;
    long lastState = stateRevision(dir);
    for (int n = 0; n < 35; n++) {
      h = commit(l, h);
      assertThat(Files.size(logFile())).isLessThanOrEqualTo(bound);
      if (stateRevision(dir) != lastState) {
        checkpoints++;
        lastState = stateRevision(dir);
        assertThat(lastState).isEqualTo(h.revision()); // the change went to the checkpoint
        assertThat(Files.size(logFile())).isEqualTo(HEADER);
      }
    }
    assertThat(checkpoints).isEqualTo(3); // every 11th head change: 10 in the log, then one
    try (LocalMetadataService back = LocalMetadataService.open(crashImage())) {
      assertThat(back.head(l.volumeId())).isEqualTo(h);
    }
  }

  @Test
  void aTornTailIsDroppedAndTheRestKept() throws IOException {
    meta = LocalMetadataService.open(dir);
    VolumeLock l = meta.lockVolume(create("a"), "w");
    Head before = commit(l, l.head());
    commit(l, before);
    Path img = crashImage();
    Path log = img.resolve(LocalStateFile.LOG);
    byte[] whole = Files.readAllBytes(log);
    Files.write(log, Arrays.copyOf(whole, whole.length - 30)); // the last append torn
    try (LocalMetadataService back = LocalMetadataService.open(img)) {
      assertThat(back.head(l.volumeId())).isEqualTo(before);
      assertThat(Files.size(log)).isEqualTo(HEADER); // dropped and checkpointed
    }
  }

  @Test
  void damageBeforeTheTailRefusesTheOpenByFileAndOffset() throws IOException {
    meta = LocalMetadataService.open(dir);
    VolumeLock l = meta.lockVolume(create("a"), "w");
    commit(l, commit(l, l.head()));
    Path img = crashImage();
    Path log = img.resolve(LocalStateFile.LOG);
    byte[] bad = Files.readAllBytes(log);
    bad[HEADER + RECORD + 20] ^= 0x10; // the first commit, with a valid record after it
    Files.write(log, bad);
    assertThatThrownBy(() -> LocalMetadataService.open(img))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("corrupt local metadata log " + log)
        .hasMessageContaining("at byte offset " + (HEADER + RECORD));
    assertThat(Files.readAllBytes(log)).isEqualTo(bad); // nothing changed
    // And the directory is released again: another open fails the same way, not with EPERM.
    assertThatThrownBy(() -> LocalMetadataService.open(img))
        .hasMessageContaining("corrupt local metadata log");
  }

  @Test
  void aLeftoverLogOfACheckpointIsIgnored() throws IOException {
    meta = LocalMetadataService.open(dir);
    VolumeLock l = meta.lockVolume(create("a"), "w");
    Head h = commit(l, commit(l, l.head()));
    byte[] oldLog = Files.readAllBytes(logFile());
    meta.createSnapshot("a", "s"); // a whole-state change: checkpoint, log emptied
    assertThat(Files.size(logFile())).isEqualTo(HEADER);
    Path img = crashImage();
    // A crash after the state file was renamed, before the log was emptied.
    Files.write(img.resolve(LocalStateFile.LOG), oldLog);
    try (LocalMetadataService back = LocalMetadataService.open(img)) {
      assertThat(back.head(l.volumeId())).isEqualTo(h);
      assertThat(back.snapshots("a")).hasSize(1);
      assertThat(back.lockVolume(l.volumeId(), "w2").epoch()).isEqualTo(h.revision() + 2);
    }
  }

  /** Counts forces and can hold the first one until released. */
  private static final class GateHook implements ForceHook {
    final AtomicInteger forces = new AtomicInteger();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    volatile boolean gate;
    volatile IOException fail;

    @Override
    public void before(Path file) throws IOException {
      if (forces.incrementAndGet() == 1 && gate) {
        entered.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      IOException f = fail;
      if (f != null) {
        throw f;
      }
    }
  }

  private List<VolumeLock> lockVolumes(int n) {
    List<VolumeLock> locks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      create("v" + i);
    }
    for (int i = 0; i < n; i++) {
      locks.add(meta.lockVolume(meta.volume("v" + i).orElseThrow().id(), "w" + i));
    }
    return locks;
  }

  private CompletableFuture<Head> commitAsync(VolumeLock l) {
    return CompletableFuture.supplyAsync(() -> commit(l, l.head()), pool);
  }

  private void awaitLogSize(long size) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Files.size(logFile()) < size) {
      assertThat(System.nanoTime()).as("log never reached %d bytes", size).isLessThan(deadline);
      Thread.sleep(1);
    }
  }

  @Test
  void concurrentCommitsShareOneForceAndReturnOnlyAfterIt() throws Exception {
    meta = LocalMetadataService.open(dir);
    List<VolumeLock> locks = lockVolumes(8);
    long base = Files.size(logFile());
    GateHook hook = new GateHook();
    hook.gate = true;
    meta.forceHook(hook);
    List<CompletableFuture<Head>> done = new ArrayList<>();
    done.add(commitAsync(locks.get(0)));
    assertThat(hook.entered.await(10, TimeUnit.SECONDS)).isTrue(); // its force has begun
    Head pending = meta.head(locks.get(0).volumeId());
    for (int i = 1; i < 8; i++) {
      done.add(commitAsync(locks.get(i)));
    }
    awaitLogSize(base + 8L * RECORD); // every record written
    Thread.sleep(50);
    assertThat(done).noneMatch(CompletableFuture::isDone); // none durable yet
    assertThat(pending).isEqualTo(locks.get(0).head()); // readers do not see it either
    hook.release.countDown();
    for (int i = 0; i < 8; i++) {
      assertThat(done.get(i).get(10, TimeUnit.SECONDS))
          .isEqualTo(meta.head(locks.get(i).volumeId()));
    }
    // The held force covered the first record; one more force covered the seven others.
    assertThat(hook.forces.get()).isEqualTo(2);
  }

  @Test
  void everyCommitThatReturnedWasCoveredByAForceThatBeganAfterItsRecord() throws Exception {
    meta = LocalMetadataService.open(dir);
    List<VolumeLock> locks = lockVolumes(4);
    AtomicLong durableSize = new AtomicLong();
    AtomicInteger forces = new AtomicInteger();
    ThreadLocal<Long> started = new ThreadLocal<>();
    meta.forceHook(new ForceHook() {
      @Override
      public void before(Path file) throws IOException {
        forces.incrementAndGet();
        started.set(Files.size(file));
      }

      @Override
      public void after(Path file) {
        durableSize.accumulateAndGet(started.get(), Math::max);
      }
    });
    int perWriter = 50;
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (VolumeLock l : locks) {
      writers.add(CompletableFuture.runAsync(() -> {
        Head h = l.head();
        for (int n = 0; n < perWriter; n++) {
          h = commit(l, h);
          long end = recordEnd(h.revision());
          assertThat(end).isLessThanOrEqualTo(durableSize.get());
        }
      }, pool));
    }
    CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    assertThat(forces.get()).isBetween(1, 4 * perWriter);
    System.out.println("4 writers x " + perWriter + " commits: " + forces.get() + " forces");
  }

  /** The end offset of the log record with this global revision. */
  private long recordEnd(long revision) {
    try {
      ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(logFile()));
      for (int off = HEADER; off + RECORD <= b.limit(); off += RECORD) {
        if (HeadChange.intact(b, off) && HeadChange.read(b, off).globalRevision() == revision) {
          return off + RECORD;
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    throw new AssertionError("no record of revision " + revision);
  }

  @Test
  void aFailedForceFailsEveryWaiterAndTheServiceRefusesChangesUntilReopened()
      throws Exception {
    meta = LocalMetadataService.open(dir);
    List<VolumeLock> locks = lockVolumes(4);
    List<Head> durable = new ArrayList<>();
    for (VolumeLock l : locks) {
      durable.add(l.head());
    }
    long base = Files.size(logFile());
    GateHook hook = new GateHook();
    hook.gate = true;
    meta.forceHook(hook);
    List<CompletableFuture<Head>> done = new ArrayList<>();
    done.add(commitAsync(locks.get(0)));
    assertThat(hook.entered.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 1; i < 4; i++) {
      done.add(commitAsync(locks.get(i)));
    }
    awaitLogSize(base + 4L * RECORD);
    hook.fail = new IOException("injected fsync failure");
    hook.release.countDown();
    for (CompletableFuture<Head> f : done) {
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(TorusException.class)
          .cause().hasMessageContaining("injected fsync failure")
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    }
    // Reads see the last durable heads; every change is refused, with the cause.
    for (int i = 0; i < 4; i++) {
      assertThat(meta.head(locks.get(i).volumeId())).isEqualTo(durable.get(i));
    }
    hook.fail = null;
    assertRefused(() -> commit(locks.get(0), durable.get(0)));
    assertRefused(() -> create("after"));
    meta.unlock(locks.get(1));
    assertRefused(() -> meta.lockVolume(locks.get(1).volumeId(), "again"));
    assertThat(meta.volume("after")).isEmpty();
    long forces = hook.forces.get();
    meta.close(); // no checkpoint of a broken directory
    assertThat(hook.forces.get()).isEqualTo(forces);

    // Reopened: each failed commit is either there or not (it was written, never reported).
    meta = LocalMetadataService.open(dir);
    for (int i = 0; i < 4; i++) {
      Head h = meta.head(locks.get(i).volumeId());
      assertThat(h.revision()).isGreaterThanOrEqualTo(durable.get(i).revision());
    }
    VolumeLock l = meta.lockVolume(locks.get(0).volumeId(), "new");
    assertThat(commit(l, l.head())).isEqualTo(meta.head(l.volumeId()));
  }

  @Test
  void aLockWhoseGrantFailedToForceIsNotHeld() throws Exception {
    meta = LocalMetadataService.open(dir);
    long id = create("a");
    GateHook hook = new GateHook();
    hook.fail = new IOException("injected fsync failure");
    meta.forceHook(hook);
    assertThatThrownBy(() -> meta.lockVolume(id, "w"))
        .isInstanceOf(TorusException.class).hasMessageContaining("injected fsync failure");
    assertThat(meta.authority().isCurrent(id, meta.head(id).revision() + 1)).isFalse();
    assertRefused(() -> meta.lockVolume(id, "w"));
  }

  private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable c) {
    assertThatThrownBy(c)
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("refuses changes until it is reopened")
        .hasMessageContaining("injected fsync failure");
  }
}
