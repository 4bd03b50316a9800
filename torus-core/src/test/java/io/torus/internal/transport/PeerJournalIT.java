package io.torus.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.peer.StorePeerService;
import io.torus.internal.storage.MemoryBlockStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** JOURNAL_APPEND and JOURNAL_FENCE over real loopback sockets, end to end. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerJournalIT {
  private static final Duration D = Duration.ofSeconds(10);

  @TempDir Path dir;
  private ExecutorService workers;
  private ExecutorService callbacks;
  private StorePeerService service;
  private PeerServer server;
  private PeerTransport transport;
  private PeerClient client;

  @BeforeEach
  void start() {
    workers = Executors.newFixedThreadPool(4);
    callbacks = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-callback"));
    startServer();
    transport = new PeerTransport("client", TransportOptions.defaults(), callbacks, null, null);
    client = transport.client(server.address());
  }

  private void startServer() {
    service = new StorePeerService("peer-1", List.of(new MemoryBlockStore("m0", 1L << 20)),
        dir.resolve("epochs"), EpochAuthority.TRUSTING, null);
    server = PeerServer.start(service, workers, "127.0.0.1", 0);
  }

  @AfterEach
  void stop() {
    transport.close();
    server.close();
    service.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
  }

  private static ByteBuffer bytes(int... b) {
    byte[] a = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      a[i] = (byte) b[i];
    }
    return ByteBuffer.wrap(a);
  }

  @Test
  void appendFenceAndAStaleAppendRoundTrip() {
    client.journalAppend(7, 3, 1, 0, bytes(1, 1), D).join();
    client.journalAppend(7, 3, 2, 0, bytes(2), D).join();
    client.journalAppend(7, 3, 2, 0, bytes(2), D).join(); // an identical retry
    assertThat(client.journalFence(7, 3, 0, D).join()).containsExactly(
        new JournalRecord(1, new byte[] {1, 1}), new JournalRecord(2, new byte[] {2}));
    assertThat(client.journalFence(7, 4, 1, D).join())
        .containsExactly(new JournalRecord(2, new byte[] {2}));
    assertThatThrownBy(() -> client.journalAppend(7, 3, 3, 0, bytes(3), D).join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> client.journalFence(7, 3, 0, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> client.journalAppend(7, 4, 2, 0, bytes(9), D).join())
        .satisfies(e -> assertThat(((TorusException) e.getCause()).code())
            .isEqualTo(ErrorCode.EINVAL));
    client.journalAppend(7, 4, 3, 1, bytes(3), D).join();
    assertThat(client.journalFence(7, 4, 0, D).join()).extracting(JournalRecord::generation)
        .containsExactly(2L, 3L);
  }

  @Test
  void aLargeFenceAnswerArrivesInSeveralFramesAndSurvivesARestart() {
    byte[] entry = new byte[1 << 20];
    for (int g = 1; g <= 6; g++) {
      entry[0] = (byte) g;
      client.journalAppend(9, 1, g, 0, ByteBuffer.wrap(entry.clone()), D).join();
    }
    List<JournalRecord> got = client.journalFence(9, 2, 0, D).join();
    assertThat(got).extracting(JournalRecord::generation).containsExactly(1L, 2L, 3L, 4L, 5L,
        6L);
    assertThat(got).allSatisfy(r -> assertThat(r.entry()).hasSize(1 << 20)
        .startsWith((byte) r.generation()));

    transport.close();
    server.close();
    service.close();
    startServer();
    transport = new PeerTransport("client", TransportOptions.defaults(), callbacks, null, null);
    client = transport.client(server.address());
    assertThat(client.journalFence(9, 2, 4, D).join()).extracting(JournalRecord::generation)
        .containsExactly(5L, 6L);
    assertThatThrownBy(() -> client.journalAppend(9, 1, 7, 0, bytes(7), D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
  }
}
