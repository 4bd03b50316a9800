package io.torus.internal.transport;

import static io.torus.testing.Blocks.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.RefConflictException;
import io.torus.TorusException;
import io.torus.internal.storage.FaultyBlockStore;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Over loopback: repair puts never destroy the copy they replace, verified HAS counts only
 * durable copies that read back, and a conflicting put comes back as the same exception.
 */
class PeerCopyIntegrityIT {
  private static final Duration D = Duration.ofSeconds(5);

  private final FaultyBlockStore s0 = new FaultyBlockStore("s0");
  private final FaultyBlockStore s1 = new FaultyBlockStore("s1");
  private ExecutorService workers;
  private ExecutorService callbacks;
  private PeerServer server;
  private PeerTransport transport;
  private PeerClient client;

  @BeforeEach
  void start() {
    workers = Executors.newFixedThreadPool(4);
    callbacks = Executors.newFixedThreadPool(2);
    StorePeerService svc = new StorePeerService("p", List.of(s0, s1), null,
        EpochAuthority.TRUSTING, PeerProtocolIT.TOKEN);
    server = PeerServer.start(svc, workers, "127.0.0.1", 0);
    transport = new PeerTransport("c", TransportOptions.defaults(), callbacks, null,
        PeerProtocolIT.TOKEN);
    client = transport.client(server.address());
  }

  @AfterEach
  void stop() {
    transport.close();
    server.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
  }

  private static ByteBuffer block(int seed) {
    byte[] b = new byte[8192];
    new SplittableRandom(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  private static BlockRef ref(int seq) {
    return new BlockRef(5, 1, seq, BlockKind.DATA);
  }

  @Test
  void failingRepairPutKeepsTheGoodCopy() {
    ByteBuffer data = block(1);
    client.put(ref(1), 1, data, crc(data), false, D).join();
    TorusException full = new TorusException(ErrorCode.ENOSPC, "store full (injected)");
    s0.failPuts(full);
    s1.failPuts(full);
    assertThatThrownBy(() -> client.put(ref(1), 0, data, crc(data), true, D).join())
        .hasCauseInstanceOf(TorusException.class).hasMessageContaining("store full");
    assertThat(client.get(ref(1), D).join()).isEqualTo(data);
    assertThat(s0.contains(ref(1)) || s1.contains(ref(1))).isTrue();
  }

  @Test
  void repairPutGoesToTheStoreHoldingTheCopy() {
    for (int seq = 0; seq < 8; seq++) {
      ByteBuffer data = block(10 + seq);
      // place the copy on both stores' "other" side: whichever is not home gets it directly
      client.put(ref(seq), 1, data, crc(data), false, D).join();
      FaultyBlockStore home = s0.contains(ref(seq)) ? s0 : s1;
      FaultyBlockStore other = home == s0 ? s1 : s0;
      home.inner().delete(ref(seq));
      other.inner().put(ref(seq), data, crc(data));
      client.put(ref(seq), 0, data, crc(data), true, D).join();
      assertThat(other.contains(ref(seq))).as("copy stays where it was").isTrue();
      assertThat(home.contains(ref(seq))).as("no second copy").isFalse();
    }
  }

  @Test
  void verifiedHasCountsOnlyDurableCopiesThatReadBack() {
    for (int seq = 1; seq <= 3; seq++) {
      ByteBuffer data = block(seq);
      client.put(ref(seq), 1, data, crc(data), false, D).join();
    }
    FaultyBlockStore holder2 = s0.contains(ref(2)) ? s0 : s1;
    holder2.corrupt(ref(2));
    List<BlockRef> asked = List.of(ref(1), ref(2), ref(3), ref(4));
    int flushes = s0.flushesStarted() + s1.flushesStarted();
    assertThat(client.has(asked, D).join()).containsExactly(true, true, true, false);
    assertThat(s0.flushesStarted() + s1.flushesStarted()).isEqualTo(flushes);

    assertThat(client.has(asked, D, true).join()).containsExactly(true, false, true, false);
    assertThat(s0.flushesDone() + s1.flushesDone()).as("unflushed copies were forced first")
        .isGreaterThan(0);

    // a copy whose store cannot be flushed is never reported as held
    ByteBuffer data = block(9);
    client.put(ref(9), 1, data, crc(data), false, D).join();
    FaultyBlockStore holder9 = s0.contains(ref(9)) ? s0 : s1;
    holder9.failNextFlushes(1);
    assertThatThrownBy(() -> client.has(List.of(ref(9)), D, true).join())
        .hasMessageContaining("injected fsync failure");
    assertThat(client.has(List.of(ref(9)), D, true).join()).containsExactly(true);
  }

  @Test
  void conflictingPutComesBackAsRefConflict() {
    s0.failPuts(new RefConflictException("ref stored with other content (injected)"));
    s1.failPuts(new RefConflictException("ref stored with other content (injected)"));
    ByteBuffer data = block(3);
    assertThatThrownBy(() -> client.put(ref(3), 1, data, crc(data), false, D).join())
        .hasCauseInstanceOf(RefConflictException.class)
        .hasMessageContaining("other content");
  }
}
