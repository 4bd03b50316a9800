package io.torus.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import io.torus.internal.storage.FaultyBlockStore;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Flush barriers of a peer under concurrency: a barrier never returns before an fsync that
 * began after its puts succeeded, and a failed fsync fails every barrier waiting on it.
 */
class StorePeerServiceFlushTest {
  private final FaultyBlockStore store = new FaultyBlockStore("f0");
  private final StorePeerService svc = new StorePeerService("p", List.of(store), null);
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stop() {
    store.release();
    threads.shutdownNow();
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(3, 1, seq, BlockKind.DATA);
  }

  private void put(int seq) {
    ByteBuffer b = ByteBuffer.wrap(new byte[] {1, 2, (byte) seq});
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    svc.put(ref(seq), 1, b, (int) c.getValue(), false, false);
  }

  private CompletableFuture<Void> flushAsync() {
    return CompletableFuture.runAsync(svc::flush, threads);
  }

  @Test
  void barrierWaitsForTheFsyncAlreadyRunning() throws Exception {
    put(1);
    store.holdFlushes();
    CompletableFuture<Void> first = flushAsync();
    assertThat(store.awaitFlushEntered(5000)).isTrue();
    // put 1 completed before this barrier: it must wait for a successful fsync covering it
    CompletableFuture<Void> second = flushAsync();
    Thread.sleep(100);
    assertThat(second).isNotDone();
    store.release();
    first.get(5, TimeUnit.SECONDS);
    second.get(5, TimeUnit.SECONDS);
    assertThat(store.flushesDone()).isEqualTo(1);
  }

  @Test
  void failedFsyncFailsEveryBarrierWaitingOnIt() throws Exception {
    put(1);
    store.holdFlushes();
    store.failNextFlushes(1);
    CompletableFuture<Void> first = flushAsync();
    assertThat(store.awaitFlushEntered(5000)).isTrue();
    CompletableFuture<Void> second = flushAsync();
    CompletableFuture<Void> third = flushAsync();
    Thread.sleep(100);
    store.release();
    for (CompletableFuture<Void> f : List.of(first, second, third)) {
      assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS))
          .hasRootCauseMessage("injected fsync failure of f0");
    }
    // still dirty: the next barrier forces again and succeeds
    svc.flush();
    assertThat(store.flushesDone()).isEqualTo(1);
  }

  @Test
  void barrierWithLaterPutsWaitsForAnFsyncThatBeganAfterThem() throws Exception {
    put(1);
    store.holdFlushes();
    CompletableFuture<Void> first = flushAsync();
    assertThat(store.awaitFlushEntered(5000)).isTrue();
    put(2); // completes while the fsync runs: no lock shared with it
    CompletableFuture<Void> second = flushAsync();
    Thread.sleep(100);
    store.release();
    first.get(5, TimeUnit.SECONDS);
    second.get(5, TimeUnit.SECONDS);
    assertThat(store.flushesDone()).isEqualTo(2);
  }

  @Test
  void concurrentBarriersShareOneFsync() throws Exception {
    put(1);
    store.holdFlushes();
    CompletableFuture<Void> first = flushAsync();
    assertThat(store.awaitFlushEntered(5000)).isTrue();
    List<CompletableFuture<Void>> more = List.of(flushAsync(), flushAsync(), flushAsync());
    Thread.sleep(100);
    store.release();
    first.get(5, TimeUnit.SECONDS);
    for (CompletableFuture<Void> f : more) {
      f.get(5, TimeUnit.SECONDS);
    }
    assertThat(store.flushesStarted()).isEqualTo(1);
  }

  @Test
  void failedDeleteTriggeredFlushLeavesTheStoreDirty() {
    for (int i = 0; i < 256; i++) {
      put(i);
    }
    svc.flush();
    int before = store.flushesStarted();
    store.failNextFlushes(1);
    for (int i = 0; i < 256; i++) {
      try {
        svc.delete(ref(i));
      } catch (TorusException e) {
        // the 256th delete's flush failed; reported or not, the next barrier must force
      }
    }
    assertThat(store.flushesStarted()).isEqualTo(before + 1);
    svc.flush();
    assertThat(store.flushesStarted()).isEqualTo(before + 2);
    assertThat(store.flushesDone()).isEqualTo(2);
  }
}
