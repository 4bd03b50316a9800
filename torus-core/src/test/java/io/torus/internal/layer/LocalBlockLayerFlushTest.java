package io.torus.internal.layer;

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

/** Flush barriers of the local layer under concurrent barriers and failing fsyncs. */
class LocalBlockLayerFlushTest {
  private final FaultyBlockStore a = new FaultyBlockStore("a");
  private final FaultyBlockStore b = new FaultyBlockStore("b");
  private final LocalBlockLayer layer = new LocalBlockLayer(List.of(a, b), 2);
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stop() {
    a.release();
    b.release();
    threads.shutdownNow();
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(4, 1, seq, BlockKind.DATA);
  }

  private void put(int seq) {
    ByteBuffer d = ByteBuffer.wrap(new byte[] {9, (byte) seq});
    CRC32C c = new CRC32C();
    c.update(d.duplicate());
    layer.put(ref(seq), d, (int) c.getValue());
  }

  private CompletableFuture<Void> flushAsync() {
    return CompletableFuture.runAsync(layer::flush, threads);
  }

  @Test
  void barrierWaitsForTheFsyncAlreadyRunning() throws Exception {
    put(1);
    a.holdFlushes();
    CompletableFuture<Void> first = flushAsync();
    assertThat(a.awaitFlushEntered(5000)).isTrue();
    CompletableFuture<Void> second = flushAsync();
    Thread.sleep(100);
    assertThat(second).isNotDone();
    a.release();
    first.get(5, TimeUnit.SECONDS);
    second.get(5, TimeUnit.SECONDS);
    assertThat(a.flushesDone()).isEqualTo(1);
    assertThat(b.flushesDone()).isEqualTo(1);
  }

  @Test
  void failedFsyncFailsTheBarrierWaitingOnIt() throws Exception {
    put(1);
    a.holdFlushes();
    a.failNextFlushes(1);
    CompletableFuture<Void> first = flushAsync();
    assertThat(a.awaitFlushEntered(5000)).isTrue();
    CompletableFuture<Void> second = flushAsync();
    Thread.sleep(100);
    a.release();
    assertThatThrownBy(() -> first.get(5, TimeUnit.SECONDS))
        .hasRootCauseMessage("injected fsync failure of a");
    assertThatThrownBy(() -> second.get(5, TimeUnit.SECONDS))
        .hasRootCauseMessage("injected fsync failure of a");
    layer.flush();
    assertThat(a.flushesDone()).isEqualTo(1);
  }

  @Test
  void failedDeleteTriggeredFlushIsReportedByTheNextBarrier() {
    for (int i = 0; i < 1024; i++) {
      put(i);
    }
    layer.flush();
    a.failNextFlushes(1);
    for (int i = 0; i < 1024; i++) {
      try {
        layer.delete(ref(i));
      } catch (TorusException e) {
        // reported here or not: the store must stay dirty
      }
    }
    int before = a.flushesStarted();
    layer.flush();
    assertThat(a.flushesStarted()).isEqualTo(before + 1);
    assertThat(a.flushesDone()).isEqualTo(2);
  }
}
