package io.torus.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.internal.transport.JournalRecord;
import io.torus.internal.transport.StaleEpochException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The peer's flush journal: append rules, fences, the log file's replay and compaction. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class JournalTableTest {
  private static final Runnable ADMIT = () -> { };

  @TempDir Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(8);

  @AfterEach
  void stop() throws Exception {
    threads.shutdownNow();
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private Path log() {
    return dir.resolve("journal.log");
  }

  private JournalTable table(Path file) {
    JournalTable t = new JournalTable(file);
    open.add(t);
    return t;
  }

  private static ByteBuffer bytes(int... b) {
    byte[] a = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      a[i] = (byte) b[i];
    }
    return ByteBuffer.wrap(a);
  }

  private static void append(JournalTable t, long volume, long gen, long ckpt, int... b) {
    t.append(volume, 1, gen, ckpt, bytes(b), ADMIT);
  }

  private static List<Long> gens(List<JournalRecord> records) {
    return records.stream().map(JournalRecord::generation).toList();
  }

  @Test
  void fenceAnswersTheEntriesAboveAfterAscending() {
    JournalTable t = table(null);
    append(t, 7, 1, 0, 1);
    append(t, 7, 2, 0, 2);
    append(t, 7, 5, 0, 5, 5);
    append(t, 8, 3, 0, 9);
    List<JournalRecord> got = t.fence(7, 1, ADMIT);
    assertThat(got).containsExactly(new JournalRecord(2, new byte[] {2}),
        new JournalRecord(5, new byte[] {5, 5}));
    assertThat(gens(t.fence(7, 0, ADMIT))).containsExactly(1L, 2L, 5L);
    assertThat(t.fence(9, 0, ADMIT)).isEmpty();
  }

  @Test
  void aCheckpointDropsTheEntriesAtOrBelowIt() {
    JournalTable t = table(null);
    for (int g = 1; g <= 3; g++) {
      append(t, 7, g, 0, g);
    }
    append(t, 7, 4, 2, 4);
    assertThat(gens(t.fence(7, 0, ADMIT))).containsExactly(3L, 4L);
    assertThat(t.checkpoint(7)).isEqualTo(2);
    // an older checkpoint never moves it back
    append(t, 7, 5, 1, 5);
    assertThat(t.checkpoint(7)).isEqualTo(2);
    assertThat(gens(t.fence(7, 0, ADMIT))).containsExactly(3L, 4L, 5L);
  }

  @Test
  void theWriterOnlyMovesForward() {
    JournalTable t = table(null);
    append(t, 7, 5, 3, 1, 2);
    assertThatThrownBy(() -> append(t, 7, 4, 3, 1)).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL))
        .hasMessageContaining("not above the last held generation 5");
    assertThatThrownBy(() -> append(t, 7, 5, 3, 9)) // same generation, other bytes
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    assertThatThrownBy(() -> append(t, 7, 3, 2, 1))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL))
        .hasMessageContaining("checkpoint 3");
    assertThatThrownBy(() -> append(t, 7, 6, 6, 1)) // at its own checkpoint
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    append(t, 7, 5, 3, 1, 2); // an identical retry is acknowledged
    assertThat(t.fence(7, 0, ADMIT)).containsExactly(new JournalRecord(5, new byte[] {1, 2}));
  }

  @Test
  void anIdenticalRetryWritesNothing() {
    JournalTable t = table(log());
    append(t, 7, 1, 0, 1, 2, 3);
    long before = t.logBytes();
    append(t, 7, 1, 0, 1, 2, 3);
    assertThat(t.logBytes()).isEqualTo(before);
    assertThat(t.size(7)).isEqualTo(1);
  }

  @Test
  void entriesAndVolumesAreBounded() {
    JournalTable t = table(null);
    ByteBuffer big = ByteBuffer.allocate(JournalTable.MAX_ENTRY_BYTES + 1);
    assertThatThrownBy(() -> t.append(7, 1, 1, 0, big, ADMIT))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL))
        .hasMessageContaining("exceeds " + JournalTable.MAX_ENTRY_BYTES);
    t.append(7, 1, 1, 0, ByteBuffer.allocate(JournalTable.MAX_ENTRY_BYTES), ADMIT);
    for (int g = 2; g <= JournalTable.MAX_ENTRIES; g++) {
      append(t, 7, g, 0, 1);
    }
    assertThatThrownBy(() -> append(t, 7, JournalTable.MAX_ENTRIES + 1, 0, 1))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.ENOSPC))
        .hasMessageContaining("must checkpoint");
    append(t, 7, JournalTable.MAX_ENTRIES + 1, 1, 1); // a checkpoint makes room
    assertThat(t.size(7)).isEqualTo(JournalTable.MAX_ENTRIES);
  }

  @Test
  void aStaleEpochIsRefusedAndAFenceFencesAppends() {
    StorePeerService svc = new StorePeerService("p", List.of(new MemoryBlockStore("m", 1 << 20)),
        dir.resolve("epochs"));
    open.add(svc);
    svc.journalAppend(7, 5, 1, 0, bytes(1));
    assertThat(gens(svc.journalFence(7, 6, 0))).containsExactly(1L);
    assertThat(svc.highestEpoch(7)).isEqualTo(6);
    assertThatThrownBy(() -> svc.journalAppend(7, 5, 2, 0, bytes(2)))
        .isInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> svc.journalFence(7, 5, 0)).isInstanceOf(StaleEpochException.class);
    svc.journalAppend(7, 6, 2, 0, bytes(2));
    assertThat(gens(svc.journalFence(7, 6, 0))).containsExactly(1L, 2L);
    assertThat(Files.exists(dir.resolve(StorePeerService.JOURNAL_FILE))).isTrue();
  }

  @Test
  void epochZeroReadsWithoutFencing() {
    StorePeerService svc = new StorePeerService("p", List.of(new MemoryBlockStore("m", 1 << 20)),
        null);
    open.add(svc);
    svc.journalAppend(7, 5, 1, 0, bytes(1));
    assertThat(gens(svc.journalFence(7, 0, 0))).as("a reader sees the entries").containsExactly(1L);
    assertThat(svc.highestEpoch(7)).as("and fences nothing").isEqualTo(5);
    svc.journalAppend(7, 5, 2, 0, bytes(2)); // the writer goes on
    assertThat(gens(svc.journalFence(7, 0, 1))).containsExactly(2L);
  }

  @Test
  void entriesAndPrunesSurviveAReload() {
    JournalTable t = new JournalTable(log());
    for (int g = 1; g <= 4; g++) {
      append(t, 7, g, 0, g, g);
      append(t, 8, g, 0, 10 + g);
    }
    append(t, 7, 5, 3, 5, 5);
    t.close();
    JournalTable r = table(log());
    assertThat(r.fence(7, 0, ADMIT)).containsExactly(new JournalRecord(4, new byte[] {4, 4}),
        new JournalRecord(5, new byte[] {5, 5}));
    assertThat(gens(r.fence(8, 0, ADMIT))).containsExactly(1L, 2L, 3L, 4L);
    assertThat(r.checkpoint(7)).isEqualTo(3);
    assertThatThrownBy(() -> append(r, 7, 3, 0, 1))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    append(r, 7, 6, 3, 6);
    assertThat(gens(r.fence(7, 0, ADMIT))).containsExactly(4L, 5L, 6L);
  }

  @Test
  void aTornTailIsTruncated() throws IOException {
    JournalTable t = new JournalTable(log());
    append(t, 7, 1, 0, 1);
    append(t, 7, 2, 0, 2);
    long end = t.logBytes();
    t.close();
    ByteBuffer rec = JournalTable.record(JournalTable.ENTRY, 7, 1, 3, 0, new byte[] {3, 3});
    try (FileChannel ch = FileChannel.open(log(), StandardOpenOption.WRITE)) {
      ch.write(rec.limit(rec.limit() - 3), end); // a crash before the record was whole
    }
    JournalTable r = table(log());
    assertThat(gens(r.fence(7, 0, ADMIT))).containsExactly(1L, 2L);
    assertThat(Files.size(log())).isEqualTo(end);
    append(r, 7, 3, 0, 3, 3);
    r.close();
    assertThat(gens(table(log()).fence(7, 0, ADMIT))).containsExactly(1L, 2L, 3L);
  }

  @Test
  void aBadRecordBeforeAValidOneIsCorruption() throws IOException {
    JournalTable t = new JournalTable(log());
    append(t, 7, 1, 0, 1);
    long second = t.logBytes();
    append(t, 7, 2, 0, 2);
    append(t, 7, 3, 0, 3);
    t.close();
    try (FileChannel ch = FileChannel.open(log(), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xEE}), second + JournalTable.HEADER);
    }
    assertThatThrownBy(() -> new JournalTable(log())).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining(log().toString())
        .hasMessageContaining("offset " + second);
  }

  @Test
  void compactionKeepsTheLiveEntries() {
    long threshold = 64 << 10;
    JournalTable t = new JournalTable(log(), threshold);
    byte[] entry = new byte[4096];
    for (int g = 1; g <= 100; g++) {
      entry[0] = (byte) g;
      t.append(7, 1, g, Math.max(0, g - 2), ByteBuffer.wrap(entry), ADMIT);
      append(t, 8, g, 0, g); // small and all live
    }
    // 100 x 4 KiB written; without compaction the log would hold over 400 KiB
    assertThat(t.logBytes()).isLessThan(threshold + 2 * (4096 + JournalTable.OVERHEAD));
    t.close();
    JournalTable r = table(log());
    assertThat(gens(r.fence(7, 0, ADMIT))).containsExactly(99L, 100L);
    assertThat(r.fence(7, 99, ADMIT).get(0).entry()[0]).isEqualTo((byte) 100);
    assertThat(r.size(8)).isEqualTo(100);
    assertThat(r.checkpoint(7)).isEqualTo(98);
    assertThat(Files.exists(dir.resolve("journal.log.tmp"))).isFalse();
  }

  @Test
  void concurrentAppendsOfSeveralVolumesAreAllDurable() throws Exception {
    JournalTable t = new JournalTable(log());
    int volumes = 8;
    int per = 40;
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    for (int v = 1; v <= volumes; v++) {
      long volume = v;
      runs.add(CompletableFuture.runAsync(() -> {
        for (int g = 1; g <= per; g++) {
          append(t, volume, g, 0, (int) volume, g);
        }
      }, threads));
    }
    CompletableFuture.allOf(runs.toArray(new CompletableFuture[0])).get(20, TimeUnit.SECONDS);
    t.close();
    JournalTable r = table(log());
    for (int v = 1; v <= volumes; v++) {
      List<JournalRecord> got = r.fence(v, 0, ADMIT);
      assertThat(got).hasSize(per);
      for (int g = 1; g <= per; g++) {
        assertThat(got.get(g - 1)).isEqualTo(new JournalRecord(g, new byte[] {(byte) v,
            (byte) g}));
      }
    }
  }

  @Test
  void aFailedForceFailsThatAppendAndEveryLaterOne() {
    boolean[] fail = {false};
    JournalTable t = new JournalTable(log(), JournalTable.COMPACT_BYTES, () -> {
      if (fail[0]) {
        throw new IOException("injected fsync failure");
      }
    });
    open.add(t);
    append(t, 7, 1, 0, 1);
    fail[0] = true;
    assertThatThrownBy(() -> append(t, 7, 2, 0, 2))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("injected fsync failure");
    fail[0] = false;
    assertThatThrownBy(() -> append(t, 8, 1, 0, 1)) // another volume, a healthy disk again
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("refuses appends");
    assertThat(gens(t.fence(7, 0, ADMIT))).containsExactly(1L); // the failed one is not held
    assertThat(t.fence(8, 0, ADMIT)).isEmpty();
  }

  @Test
  void aClosedTableRefusesAppendsAndStillAnswersFences() {
    JournalTable t = new JournalTable(log());
    append(t, 7, 1, 0, 1);
    t.close();
    assertThatThrownBy(() -> append(t, 7, 2, 0, 2))
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("refuses appends");
    assertThat(gens(t.fence(7, 0, ADMIT))).containsExactly(1L);
  }

  @Test
  void aFenceNeverMissesAnAppendOfTheLowerEpochInMemory() throws Exception {
    StorePeerService svc = new StorePeerService("p", List.of(new MemoryBlockStore("m", 1 << 20)),
        null);
    race(svc, 300);
  }

  @Test
  void aFenceNeverMissesAnAppendOfTheLowerEpochOnDisk() throws Exception {
    StorePeerService svc = new StorePeerService("p", List.of(new MemoryBlockStore("m", 1 << 20)),
        dir.resolve("epochs"));
    open.add(svc);
    race(svc, 40);
  }

  /**
   * Each round: four threads append to a fresh volume under epoch 1 while a fifth fences it
   * with epoch 2 at a random point. Every append that succeeded must be in the fence's answer,
   * and the answer holds nothing else (so none with epoch 1 succeeded after the fence).
   */
  private void race(StorePeerService svc, int rounds) throws Exception {
    long seed = System.nanoTime();
    System.out.println("journal race seed " + seed);
    Random random = new Random(seed);
    for (int round = 1; round <= rounds; round++) {
      long volume = round;
      long fenceAt = 1 + random.nextInt(40);
      AtomicLong next = new AtomicLong();
      Set<Long> succeeded = ConcurrentHashMap.newKeySet();
      CountDownLatch go = new CountDownLatch(1);
      List<CompletableFuture<?>> runs = new ArrayList<>();
      for (int a = 0; a < 4; a++) {
        runs.add(CompletableFuture.runAsync(() -> {
          await(go);
          for (int i = 0; i < 10_000; i++) {
            long g = next.incrementAndGet();
            try {
              svc.journalAppend(volume, 1, g, 0, bytes((int) g));
              succeeded.add(g);
            } catch (StaleEpochException e) {
              return;
            } catch (TorusException e) {
              if (e.code() == ErrorCode.ENOSPC) {
                return; // a late fence: the volume's 4096 entries are full (not acknowledged)
              }
              assertThat(e.code()).isEqualTo(ErrorCode.EINVAL); // overtaken by a higher one
            }
          }
        }, threads));
      }
      CompletableFuture<List<JournalRecord>> fence = CompletableFuture.supplyAsync(() -> {
        await(go);
        long spins = 0;
        while (next.get() < fenceAt && spins++ < 50_000_000L) {
          Thread.onSpinWait();
        }
        return svc.journalFence(volume, 2, 0);
      }, threads);
      go.countDown();
      List<JournalRecord> answer = fence.get(20, TimeUnit.SECONDS);
      CompletableFuture.allOf(runs.toArray(new CompletableFuture[0])).get(20, TimeUnit.SECONDS);
      assertThat(new TreeSet<>(gens(answer)))
          .as("round %d, seed %d", round, seed)
          .isEqualTo(new TreeSet<>(succeeded));
      assertThat(gens(svc.journalFence(volume, 2, 0))).isEqualTo(gens(answer));
    }
  }

  private static void await(CountDownLatch go) {
    try {
      assertThat(go.await(10, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
