package io.torus.internal.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The copy step on in-memory sources and targets: order, bounds and failures. */
class ReplicaCopierTest {
  private static final Duration DEADLINE = Duration.ofSeconds(1);
  private static final List<BlockRef> REFS = IntStream.range(0, 10)
      .mapToObj(i -> new BlockRef(1, 2, i, BlockKind.DATA)).toList();

  /** A source holding every ref of {@link #REFS} except those listed as missing or corrupt. */
  private static ReplicaCopier.Source source(String name, List<BlockRef> missing,
      List<BlockRef> corrupt) {
    return new ReplicaCopier.Source() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public CompletableFuture<ByteBuffer> get(BlockRef ref) {
        if (corrupt.contains(ref)) {
          return CompletableFuture.failedFuture(new CorruptBlockException("bad " + ref));
        }
        return CompletableFuture.completedFuture(missing.contains(ref) ? null
            : ByteBuffer.wrap(new byte[] {(byte) ref.sequence(), 1, 2, 3}));
      }
    };
  }

  /** A target that acknowledges each put a little later and records what it saw. */
  private static final class Target implements ReplicaCopier.Target {
    final List<String> events = new ArrayList<>();
    final Map<BlockRef, Integer> crcs = new HashMap<>();
    final List<CompletableFuture<Void>> handedOut = new ArrayList<>();
    int maxOutstanding;
    boolean failFlush;

    @Override
    public String name() {
      return "T";
    }

    @Override
    public synchronized CompletableFuture<Void> put(BlockRef ref, ByteBuffer data,
        int crc32c) {
      events.add("put " + ref.sequence());
      crcs.put(ref, crc32c);
      CompletableFuture<Void> f = CompletableFuture.runAsync(() -> { },
          CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS));
      handedOut.add(f);
      maxOutstanding = Math.max(maxOutstanding,
          (int) handedOut.stream().filter(o -> !o.isDone()).count());
      return f;
    }

    @Override
    public synchronized CompletableFuture<Void> flush() {
      events.add("flush");
      return failFlush
          ? CompletableFuture.failedFuture(new TorusException(ErrorCode.EIO, "fsync failed"))
          : CompletableFuture.completedFuture(null);
    }
  }

  @Test
  void aBatchBoundsPutsInFlightAndEndsWithOneBarrier() throws Exception {
    Target t = new Target();
    ReplicaCopier copier = new ReplicaCopier(null, 3, DEADLINE);

    ReplicaCopier.Batch b = copier.copy(source("S", List.of(REFS.get(1)), List.of(REFS.get(2))),
        t, REFS);

    assertThat(b).isEqualTo(new ReplicaCopier.Batch(8, 8 * 4, 1));
    assertThat(t.maxOutstanding).isBetween(1, 3);
    assertThat(t.handedOut).allMatch(CompletableFuture::isDone);
    assertThat(t.events).hasSize(9).endsWith("flush").doesNotContain("put 1", "put 2");
    ByteBuffer first = ByteBuffer.wrap(new byte[] {0, 1, 2, 3});
    assertThat(t.crcs.get(REFS.get(0))).isEqualTo(io.torus.internal.Crc32c.of(first));
  }

  @Test
  void aFailedBarrierFailsTheBatchAndABarrierFollowsEveryCopy() throws Exception {
    Target t = new Target();
    t.failFlush = true;
    ReplicaCopier copier = new ReplicaCopier(null, 16, DEADLINE);

    assertThatThrownBy(() -> copier.copy(source("S", List.of(), List.of()), t, REFS))
        .isInstanceOf(TorusException.class).hasMessageContaining("fsync failed");
    assertThatThrownBy(() -> copier.copy(REFS.get(0), ByteBuffer.wrap(new byte[4]), t))
        .isInstanceOf(TorusException.class).hasMessageContaining("fsync failed");

    Target ok = new Target();
    copier.copy(REFS.get(0), ByteBuffer.wrap(new byte[4]), ok);
    assertThat(ok.events).containsExactly("put 0", "flush");
  }

  @Test
  void copyFromAnyHolderSkipsHoldersWithoutAGoodCopy() throws Exception {
    BlockRef ref = REFS.get(4);
    Target t = new Target();
    ReplicaCopier copier = new ReplicaCopier(new RateLimiter(1 << 20, System::nanoTime), 1,
        DEADLINE);
    List<ReplicaCopier.Source> holders = List.of(source("missing", List.of(ref), List.of()),
        source("corrupt", List.of(), List.of(ref)), source("good", List.of(), List.of()));

    assertThat(copier.copy(ref, holders, t)).isEqualTo("good");
    assertThat(t.events).containsExactly("put 4", "flush");
    ReplicaCopier.Fetched f = copier.fetch(ref, holders);
    assertThat(f.source()).isEqualTo("good");
    assertThat(f.failed()).containsExactly("corrupt");
    assertThat(copier.fetch(ref, holders.subList(0, 2)).data()).isNull();
    assertThat(copier.copy(ref, holders.subList(0, 2), t)).isNull();
    assertThat(t.events).hasSize(2);
  }
}
