package io.torus.internal.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockUnavailableException;
import io.torus.ReadLevel;
import io.torus.WriteLevel;
import io.torus.internal.Crc32c;
import io.torus.internal.layer.GatedBlockStore.Op;
import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.transport.StaleEpochException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.testing.Blocks;
import io.torus.testing.cluster.FaultProxy;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The asynchronous replicated layer over three in-process peers ({@link PeerTrio}): its futures
 * are handed back before any peer answered and complete when the peers do, a put falls over
 * to the next ring peer when a replica is cut or silent, a fenced writer's put fails with
 * {@link StaleEpochException} without falling over, gets fail over in ring order, a stuck get
 * holds up no other, and a flush waits for the flush still running before it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DistributedBlockLayerAsyncTest {
  private static final long VOLUME = 3;
  private static final long EPOCH = 7;
  /** The peers accept only the writer's current epoch. */
  private static final EpochAuthority AUTHORITY = (volume, epoch) -> epoch == EPOCH;
  private static final long WAIT = 10_000;

  private final PeerTrio peers = new PeerTrio(AUTHORITY, Duration.ofMillis(700));

  @AfterEach
  void close() {
    peers.close();
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(VOLUME, 1, seq, BlockKind.DATA);
  }

  /** The first block of sequence {@code from} on whose ring order {@code test} holds. */
  private BlockRef refWhere(int from, Predicate<List<String>> test) {
    for (int seq = from; seq < from + 10_000; seq++) {
      if (test.test(peers.order(ref(seq)))) {
        return ref(seq);
      }
    }
    throw new AssertionError("no ref of the wanted placement");
  }

  private static <T> T await(CompletableFuture<T> f) throws Exception {
    return f.get(WAIT, TimeUnit.MILLISECONDS);
  }

  /** Polls (bounded) until {@code store} holds {@code ref}. */
  private static void awaitStored(GatedBlockStore store, BlockRef ref) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT);
    while (!store.contains(ref)) {
      assertThat(System.nanoTime()).as("%s stored on %s", ref, store.name())
          .isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  /**
   * Reads that find their first replica missing the block each start a repair; with every
   * repair stuck (puts held at the stores), at most {@link LayerContext#MAX_QUEUED_REPAIRS}
   * wait (plus the few that time out and free a place meanwhile: two threads, one per 0.7 s
   * each) and the rest are skipped;
   * every read still returns the good copy.
   */
  @Test
  void readRepairsWaitInABoundedQueue() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    int n = LayerContext.MAX_QUEUED_REPAIRS + 100;
    List<BlockRef> refs = new java.util.ArrayList<>();
    List<ByteBuffer> data = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      refs.add(ref(1000 + i));
      data.add(Blocks.block(1000 + i, 4096));
      await(layer.putAsync(refs.get(i), data.get(i).duplicate(), Crc32c.of(data.get(i))));
    }
    await(layer.flushAsync());
    for (BlockRef r : refs) {
      peers.store(peers.order(r).get(0)).inner().delete(r); // the first replica lost it
    }
    for (int i = 0; i < 3; i++) {
      peers.store(i).hold(Op.PUT); // every repair put now waits until its deadline
    }
    for (int i = 0; i < n; i++) {
      assertThat(layer.get(refs.get(i))).isEqualTo(data.get(i));
    }
    assertThat(layer.repairs()).as("repairs started for %d missing copies", n)
        .isPositive().isLessThanOrEqualTo(LayerContext.MAX_QUEUED_REPAIRS + 64L);
  }

  @Test
  void putAsyncReturnsBeforeAPeerAnsweredAndCompletesWhenItDoes() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(1);
    List<String> order = peers.order(ref);
    GatedBlockStore held = peers.store(order.get(1));
    held.hold(Op.PUT);
    ByteBuffer data = Blocks.block(1, 4096);

    CompletableFuture<Void> put = layer.putAsync(ref, data, Crc32c.of(data));

    awaitStored(peers.store(order.get(0)), ref); // the other replica has answered
    assertThat(held.awaitHeld(Op.PUT, WAIT)).as("put reached the held peer").isTrue();
    assertThat(put).as("a put one replica has not answered").isNotDone();
    held.open(Op.PUT);
    await(put);
    assertThat(held.contains(ref)).isTrue();
    assertThat(peers.store(order.get(2)).contains(ref)).as("no copy on the fallback").isFalse();
    assertThat(layer.hints()).isZero();
    await(layer.flushAsync());
    assertThat(await(layer.getAsync(ref))).isEqualTo(data);
  }

  @Test
  void aWeakWriteLevelCompletesAtItsRequiredCopiesAndTheRestLandWithTheirOwnBytes()
      throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH, WriteLevel.ONE, ReadLevel.FIRST);
    BlockRef ref = ref(5);
    List<String> order = peers.order(ref);
    GatedBlockStore held = peers.store(order.get(1));
    held.hold(Op.PUT);
    ByteBuffer data = Blocks.block(5, 4096);
    ByteBuffer original = Blocks.block(5, 4096);

    await(layer.putAsync(ref, data, Crc32c.of(data))); // one copy is enough
    assertThat(held.awaitHeld(Op.PUT, WAIT)).isTrue();
    data.put(0, (byte) ~data.get(0)); // the caller's buffer is its own again
    held.open(Op.PUT);
    awaitStored(held, ref);

    assertThat(held.get(ref)).as("the late copy").isEqualTo(original);
    await(layer.flushAsync());
    assertThat(await(layer.getAsync(ref))).isEqualTo(original);
    assertThat(layer.hints()).isZero();
  }

  @Test
  void aCutReplicaMakesPutAsyncFallOverToTheNextRingPeer() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(2);
    List<String> order = peers.order(ref);
    peers.proxy(order.get(1)).mode(FaultProxy.Mode.CUT);
    ByteBuffer data = Blocks.block(2, 4096);

    await(layer.putAsync(ref, data, Crc32c.of(data)));

    assertThat(peers.store(order.get(0)).contains(ref)).isTrue();
    assertThat(peers.store(order.get(2)).contains(ref)).as("copy on the fallback").isTrue();
    assertThat(layer.hints()).isEqualTo(1);
    await(layer.flushAsync());
    assertThat(await(layer.getAsync(ref))).isEqualTo(data);
    // and after the replica is back, it is served from the ring replicas again
    peers.proxy(order.get(1)).mode(FaultProxy.Mode.PASS);
    assertThat(await(layer.getAsync(ref))).isEqualTo(data);
  }

  @Test
  void aSilentReplicaMakesPutAsyncFallOverAtItsDeadline() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(3);
    List<String> order = peers.order(ref);
    peers.proxy(order.get(0)).mode(FaultProxy.Mode.BLACKHOLE);
    ByteBuffer data = Blocks.block(3, 4096);

    CompletableFuture<Void> put = layer.putAsync(ref, data, Crc32c.of(data));
    assertThat(put).as("nothing can have answered for the silent replica yet").isNotDone();
    await(put);

    assertThat(peers.store(order.get(1)).contains(ref)).isTrue();
    assertThat(peers.store(order.get(2)).contains(ref)).as("copy on the fallback").isTrue();
    assertThat(layer.hints()).isEqualTo(1);
  }

  @Test
  void tooFewPeersFailPutAsyncNamingEveryPeer() {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(4);
    List<String> order = peers.order(ref);
    peers.proxy(order.get(0)).mode(FaultProxy.Mode.CUT);
    peers.proxy(order.get(2)).mode(FaultProxy.Mode.CUT);
    ByteBuffer data = Blocks.block(4, 4096);

    assertThatThrownBy(() -> await(layer.putAsync(ref, data.duplicate(), Crc32c.of(data))))
        .hasMessageContaining("stored on 1 of 2 replicas; write level ALL needs 2")
        .hasMessageContaining(order.get(0)).hasMessageContaining(order.get(2));
    // the blocking twin fails the same way, with the exception itself
    assertThatThrownBy(() -> layer.put(ref, data.duplicate(), Crc32c.of(data)))
        .isInstanceOf(io.torus.TorusException.class)
        .hasMessageContaining("write level ALL needs 2");
  }

  @Test
  void aFencedWritersPutAsyncFailsWithStaleEpochAndDoesNotFallOver() throws Exception {
    BlockRef first = ref(10);
    ByteBuffer data = Blocks.block(10, 4096);
    peers.layer(EPOCH).put(first, data.duplicate(), Crc32c.of(data)); // the current writer
    DistributedBlockLayer stale = peers.layer(EPOCH - 2);
    BlockRef ref = ref(11);

    CompletableFuture<Void> put = stale.putAsync(ref, data.duplicate(), Crc32c.of(data));

    assertThatThrownBy(() -> await(put)).hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(put::join).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> stale.put(ref, data.duplicate(), Crc32c.of(data)))
        .isInstanceOf(StaleEpochException.class);
    stale.flush(); // it stored nothing, so it has nothing to flush
    assertThat(stale.hints()).isZero();
    for (int i = 0; i < PeerTrio.SIZE; i++) {
      assertThat(peers.store(i).contains(ref)).as("stale copy on %s", PeerTrio.id(i)).isFalse();
    }
  }

  @Test
  void getAsyncFailsOverInRingOrderAndNamesEveryPeerWhenNoneHasTheBlock() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef missing = ref(20);
    assertThatThrownBy(() -> await(layer.getAsync(missing)))
        .hasCauseInstanceOf(BlockUnavailableException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining(PeerTrio.id(0) + ": missing")
        .hasMessageContaining(PeerTrio.id(1) + ": missing")
        .hasMessageContaining(PeerTrio.id(2) + ": missing");

    BlockRef ref = ref(21);
    ByteBuffer data = Blocks.block(21, 8192);
    await(layer.putAsync(ref, data, Crc32c.of(data)));
    peers.proxy(peers.order(ref).get(0)).mode(FaultProxy.Mode.CUT);
    assertThat(await(layer.getAsync(ref))).isEqualTo(data); // from the second replica
  }

  @Test
  void aStuckGetHoldsUpNoOtherGet() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    String slow = PeerTrio.id(0);
    BlockRef stuckRef = refWhere(100, o -> o.get(0).equals(slow));
    List<BlockRef> others = new ArrayList<>();
    for (int seq = 200; others.size() < 32; seq++) {
      if (!peers.order(ref(seq)).get(0).equals(slow)) {
        others.add(ref(seq));
      }
    }
    List<ByteBuffer> written = new ArrayList<>();
    List<CompletableFuture<Void>> puts = new ArrayList<>();
    for (BlockRef r : others) {
      ByteBuffer data = Blocks.block(r.sequence(), 4096);
      written.add(data);
      puts.add(layer.putAsync(r, data, Crc32c.of(data)));
    }
    ByteBuffer stuckData = Blocks.block(1, 4096);
    puts.add(layer.putAsync(stuckRef, stuckData, Crc32c.of(stuckData)));
    await(CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)));

    peers.store(slow).hold(Op.GET);
    CompletableFuture<ByteBuffer> stuck = layer.getAsync(stuckRef);
    assertThat(peers.store(slow).awaitHeld(Op.GET, WAIT)).isTrue();
    assertThat(await(layer.getAllAsync(others))).isEqualTo(written);
    assertThat(stuck).isNotDone();
    peers.store(slow).open(Op.GET);
    assertThat(await(stuck)).isEqualTo(stuckData);
  }

  @Test
  void flushAsyncReturnsBeforeTheBarriersAndWaitsForTheFlushRunningBeforeIt()
      throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(30);
    ByteBuffer data = Blocks.block(30, 4096);
    await(layer.putAsync(ref, data, Crc32c.of(data)));
    GatedBlockStore held = peers.store(peers.order(ref).get(0));
    held.hold(Op.FLUSH);

    CompletableFuture<Void> first = layer.flushAsync();
    assertThat(held.awaitHeld(Op.FLUSH, WAIT)).as("barrier reached the held peer").isTrue();
    // nothing new to flush, but the put above is durable only once the first flush is done
    CompletableFuture<Void> second = layer.flushAsync();
    assertThat(first).isNotDone();
    assertThat(second).isNotDone();
    held.open(Op.FLUSH);
    await(first);
    await(second);
    layer.flush();
  }

  @Test
  void aFlushWhoseBarrierFailedReplicatesTheBlockElsewhere() throws Exception {
    DistributedBlockLayer layer = peers.layer(EPOCH);
    BlockRef ref = ref(40);
    List<String> order = peers.order(ref);
    ByteBuffer data = Blocks.block(40, 4096);
    await(layer.putAsync(ref, data, Crc32c.of(data)));
    peers.proxy(order.get(1)).mode(FaultProxy.Mode.CUT); // dies before the barrier

    await(layer.flushAsync());

    assertThat(peers.store(order.get(2)).contains(ref)).as("re-replicated").isTrue();
    assertThat(layer.hints()).isEqualTo(1);
    assertThat(await(layer.getAsync(ref))).isEqualTo(data);
  }
}
