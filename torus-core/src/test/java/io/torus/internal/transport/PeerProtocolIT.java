package io.torus.internal.transport;

import static io.torus.testing.Blocks.crc;
import static io.torus.testing.Blocks.block;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import io.torus.internal.storage.MemoryBlockStore;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peer protocol over real loopback sockets: a server, a client, and misbehaving peers. */
class PeerProtocolIT {
  private static final Duration D = Duration.ofSeconds(5);
  static final byte[] TOKEN = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  @TempDir Path dir;
  private ExecutorService workers;
  private ExecutorService callbacks;
  private PeerServer server;
  private PeerTransport transport;
  private PeerClient client;

  @BeforeEach
  void start() {
    workers = Executors.newFixedThreadPool(4);
    callbacks = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-callback"));
    server = startServer(workers);
    transport = newTransport();
    client = transport.client(server.address());
  }

  private PeerTransport newTransport() {
    return new PeerTransport("client", TransportOptions.defaults(), callbacks, null, TOKEN);
  }

  private PeerServer startServer(ExecutorService pool) {
    StorePeerService svc = new StorePeerService("peer-1",
        List.of(new MemoryBlockStore("m0", 1L << 30)), dir.resolve("epochs"),
        EpochAuthority.TRUSTING, TOKEN);
    return PeerServer.start(svc, pool, "127.0.0.1", 0);
  }

  @AfterEach
  void stop() {
    transport.close();
    server.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
  }


  private static BlockRef ref(int seq) {
    return new BlockRef(7, 2, seq, BlockKind.DATA);
  }

  @Test
  void everyOperationRoundTrips() throws Exception {
    ByteBuffer data = block(1, 65536);
    client.put(ref(1), 10, data, crc(data), false, D).get();
    assertThat(client.get(ref(1), D).get()).isEqualTo(data);
    assertThat(client.get(ref(2), D).get()).isNull();
    assertThat(client.has(List.of(ref(1), ref(2)), D).get()).containsExactly(true, false);
    client.put(ref(3), 10, data, crc(data), false, D).get();
    ListPage page = client.list(7, null, 1, D).get();
    assertThat(page.refs()).containsExactly(ref(1));
    assertThat(page.more()).isTrue();
    assertThat(client.list(7, ref(1), 10, D).get().refs()).containsExactly(ref(3));
    client.flush(D).get();
    PeerStats stats = client.stats(D).get();
    assertThat(stats.nodeId()).isEqualTo("peer-1");
    assertThat(stats.used()).isPositive();
    assertThat(client.delete(ref(1), D).get()).isTrue();
    assertThat(client.delete(ref(1), D).get()).isFalse();
    assertThat(client.get(ref(1), D).get()).isNull();
  }

  @Test
  void badChecksumIsRefusedAndNothingStored() {
    ByteBuffer data = block(2, 4096);
    assertThatThrownBy(() -> client.put(ref(5), 1, data, crc(data) ^ 1, false, D).join())
        .hasCauseInstanceOf(io.torus.CorruptBlockException.class);
    assertThat(client.get(ref(5), D).join()).isNull();
  }

  @Test
  void staleEpochIsRejectedAndRememberedAcrossRestart() throws Exception {
    ByteBuffer data = block(3, 4096);
    client.put(ref(1), 20, data, crc(data), false, D).get();
    assertThatThrownBy(() -> client.put(ref(2), 19, data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class)
        .hasMessageContaining("stale epoch 19");
    assertThat(client.get(ref(2), D).get()).isNull();
    client.put(ref(2), 21, data, crc(data), false, D).get();

    transport.close();
    server.close();
    server = startServer(workers);
    transport = newTransport();
    client = transport.client(server.address());
    assertThatThrownBy(() -> client.put(ref(3), 20, data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    // A repair (restoring a verified copy) is not a new write and is not fenced.
    client.put(ref(3), 0, data, crc(data), true, D).get();
    assertThat(client.get(ref(3), D).get()).isEqualTo(data);
  }

  @Test
  void pipelinesManyRequestsAndCompletesOffTheEventLoop() throws Exception {
    List<CompletableFuture<String>> puts = new ArrayList<>();
    List<ByteBuffer> blocks = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      ByteBuffer b = block(100 + i, 8192);
      blocks.add(b);
      puts.add(client.put(ref(i), 1, b, crc(b), false, D)
          .thenApply(v -> Thread.currentThread().getName()));
    }
    for (CompletableFuture<String> f : puts) {
      assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo("test-callback");
    }
    List<CompletableFuture<ByteBuffer>> gets = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      gets.add(client.get(ref(i), D));
    }
    for (int i = 0; i < 400; i++) {
      assertThat(gets.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(blocks.get(i));
    }
  }

  @Test
  void deadlinePassesWhenThePeerIsStuck() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService stuck = Executors.newSingleThreadExecutor();
    PeerServer slow = startServerWithDir(stuck, dir.resolve("slow"));
    try (PeerTransport t = new PeerTransport("c2", TransportOptions.defaults(), callbacks)) {
      occupy(stuck, release);
      long start = System.nanoTime();
      assertThatThrownBy(() -> t.client(slow.address()).get(ref(1), Duration.ofMillis(300))
          .join()).hasMessageContaining("no answer within 300 ms");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(3000);
      release.countDown();
      assertThat(t.client(slow.address()).get(ref(1), D).get()).isNull();
    } finally {
      release.countDown();
      slow.close();
      stuck.shutdownNow();
    }
  }

  /** Keeps the server's only worker thread busy until {@code release}. */
  private static void occupy(ExecutorService stuck, CountDownLatch release) {
    stuck.execute(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  private PeerServer startServerWithDir(ExecutorService pool, Path d) throws Exception {
    java.nio.file.Files.createDirectories(d);
    return PeerServer.start(new StorePeerService("slow",
        List.of(new MemoryBlockStore("m", 64L << 20)), d.resolve("epochs")), pool,
        "127.0.0.1", 0);
  }

  @Test
  void connectionsOpenOnTheFirstRequestAndCloseWhenIdle() throws Exception {
    TransportOptions idle = TransportOptions.defaults().withIdleTimeout(Duration.ofMillis(300));
    try (PeerTransport t = new PeerTransport("idle", idle, callbacks, null, TOKEN)) {
      PeerClient c = t.client(server.address());
      assertThat(c.openConnections()).isZero();
      ByteBuffer b = block(3, 4096);
      c.put(ref(40), 1, b.duplicate(), crc(b), false, D).get(5, TimeUnit.SECONDS);
      assertThat(c.openConnections()).isPositive();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (c.openConnections() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(c.openConnections()).isZero();
      // the next request opens a connection again and is served
      assertThat(c.get(ref(40), D).get(5, TimeUnit.SECONDS)).isEqualTo(b);
      assertThat(c.openConnections()).isPositive();
    }
  }

  @Test
  void aSenderWithoutRoomIsNotBlockedAndItsRequestGoesOutWhenRoomFrees() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService stuck = Executors.newSingleThreadExecutor();
    PeerServer slow = startServerWithDir(stuck, dir.resolve("room"));
    TransportOptions small = new TransportOptions(1, D, D, (4 << 20) + (64 << 10));
    try (PeerTransport t = new PeerTransport("c4", small, callbacks)) {
      occupy(stuck, release);
      ByteBuffer big = block(9, 3 << 20);
      PeerClient c = t.client(slow.address());
      CompletableFuture<Void> first = c.put(ref(1), 1, big, crc(big), false, D);
      CompletableFuture<Void> second = c.put(ref(2), 1, big, crc(big), false, D);
      CompletableFuture<ByteBuffer> third = c.get(ref(1), D); // queued behind the second
      assertThat(second).as("waits for room without holding the sender").isNotDone();
      assertThat(third).isNotDone();
      release.countDown();
      first.get(5, TimeUnit.SECONDS);
      second.get(5, TimeUnit.SECONDS);
      assertThat(third.get(5, TimeUnit.SECONDS)).isEqualTo(big);
    } finally {
      release.countDown();
      slow.close();
      stuck.shutdownNow();
    }
  }

  @Test
  void backpressureBoundsBytesInFlight() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService stuck = Executors.newSingleThreadExecutor();
    PeerServer slow = startServerWithDir(stuck, dir.resolve("bp"));
    TransportOptions small = new TransportOptions(1, D, D, (4 << 20) + (64 << 10));
    try (PeerTransport t = new PeerTransport("c3", small, callbacks)) {
      occupy(stuck, release);
      ByteBuffer big = block(9, 3 << 20);
      PeerClient c = t.client(slow.address());
      CompletableFuture<Void> first = c.put(ref(1), 1, big, crc(big), false, D);
      long start = System.nanoTime();
      assertThatThrownBy(() -> c.put(ref(2), 1, big, crc(big), false, Duration.ofMillis(200))
          .join()).hasMessageContaining("no room for");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(150L,
          3000L);
      release.countDown();
      first.get(5, TimeUnit.SECONDS);
      c.put(ref(2), 1, big, crc(big), false, D).get(5, TimeUnit.SECONDS);
    } finally {
      release.countDown();
      slow.close();
      stuck.shutdownNow();
    }
  }

  @Test
  void malformedFramesCloseOnlyThatConnection() throws Exception {
    ByteBuffer data = block(4, 4096);
    client.put(ref(1), 1, data, crc(data), false, D).get();
    int port = server.address().getPort();
    // Oversized length, garbage header, request before handshake, wrong version.
    assertClosedAfter(port, out -> out.writeInt(FrameCodec.MAX_FRAME + 1));
    assertClosedAfter(port, out -> {
      out.writeInt(6);
      out.writeShort(4);
      out.writeInt(-1);
    });
    assertClosedAfter(port, out -> writeFrame(out, io.torus.internal.transport.proto.Header
        .newBuilder().setRequestId(1).setOp(io.torus.internal.transport.proto.Op.STATS)
        .build()));
    assertClosedAfter(port, out -> writeFrame(out, io.torus.internal.transport.proto.Header
        .newBuilder().setRequestId(0).setOp(io.torus.internal.transport.proto.Op.HELLO)
        .setProtocolVersion(99).build()));
    assertClosedAfter(port, out -> {
      writeFrame(out, io.torus.internal.transport.proto.Header.newBuilder()
          .setOp(io.torus.internal.transport.proto.Op.HELLO).setProtocolVersion(1).build());
      writeFrame(out, io.torus.internal.transport.proto.Header.newBuilder()
          .setRequestId(3).setOpValue(42).build());
    });
    assertThat(client.get(ref(1), D).get()).isEqualTo(data);
  }

  private interface Writer {
    void write(DataOutputStream out) throws Exception;
  }

  private static void writeFrame(DataOutputStream out,
      io.torus.internal.transport.proto.Header h) throws Exception {
    byte[] b = h.toByteArray();
    out.writeInt(2 + b.length);
    out.writeShort(b.length);
    out.write(b);
  }

  private static void assertClosedAfter(int port, Writer w) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      w.write(out);
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      int n;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while ((n = in.read(buf)) >= 0) { // drain answers (a HELLO reply) until EOF
        assertThat(System.nanoTime()).isLessThan(deadline);
      }
      assertThat(n).isEqualTo(-1);
    }
  }

  @Test
  void requestsFailFastWhenThePeerIsGone() {
    int port = server.address().getPort();
    server.close();
    assertThatThrownBy(() -> client.stats(D).join()).hasCauseInstanceOf(TorusException.class)
        .hasMessageContaining(String.valueOf(port));
  }
}
