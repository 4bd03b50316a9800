package io.torus.internal.transport;

import static io.torus.testing.Blocks.crc;
import static io.torus.testing.Blocks.block;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.peer.EpochAuthority;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.internal.storage.FaultyBlockStore;
import io.torus.internal.transport.proto.Header;
import io.torus.internal.transport.proto.Op;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Misbehaving peers over loopback cannot make a server or a client hold unbounded memory:
 * a peer that floods puts and never reads its answers, one that asks for many blocks and never
 * reads them, and a peer that stops reading requests altogether.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PeerBackpressureIT {
  private static final Duration D = Duration.ofSeconds(5);
  private static final int MIB = 1 << 20;
  /** The server's limits: 64 requests, 16 MiB in all; 4 requests, 4 MiB per connection. */
  private static final PeerServer.Limits LIMITS =
      new PeerServer.Limits(64, 16 * MIB, 4, 4 * MIB);

  private final FaultyBlockStore store = new FaultyBlockStore("s");
  private ThreadPoolExecutor workers;
  private ExecutorService callbacks;
  private PeerServer server;
  private PeerTransport transport;

  @BeforeEach
  void start() {
    workers = new ThreadPoolExecutor(4, 4, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
    callbacks = Executors.newFixedThreadPool(2);
    StorePeerService svc = new StorePeerService("p", List.of(store), null,
        EpochAuthority.TRUSTING, PeerProtocolIT.TOKEN);
    server = PeerServer.start(svc, workers, "127.0.0.1", 0, null, LIMITS);
    transport = new PeerTransport("good", TransportOptions.defaults(), callbacks, null,
        PeerProtocolIT.TOKEN);
  }

  @AfterEach
  void stop() {
    transport.close();
    server.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
  }


  private static BlockRef ref(int seq) {
    return new BlockRef(9, 1, seq, BlockKind.DATA);
  }

  private static void frame(DataOutputStream out, Header h, byte[] payload) throws Exception {
    byte[] b = h.toByteArray();
    out.writeInt(2 + b.length + payload.length);
    out.writeShort(b.length);
    out.write(b);
    out.write(payload);
  }

  private static void hello(DataOutputStream out) throws Exception {
    frame(out, Header.newBuilder().setOp(Op.HELLO).setProtocolVersion(PeerProtocol.VERSION)
        .setNodeId("hostile").build(), new byte[0]);
  }

  /** Samples the server's work queue and bytes in flight until stopped. */
  private final class Sampler extends Thread {
    final AtomicInteger peakQueue = new AtomicInteger();
    final AtomicLong peakBytes = new AtomicLong();
    volatile boolean done;

    Sampler() {
      setDaemon(true);
    }

    @Override
    public void run() {
      while (!done) {
        peakQueue.accumulateAndGet(workers.getQueue().size(), Math::max);
        peakBytes.accumulateAndGet(server.inFlightBytes(), Math::max);
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** Another, well-behaved client is served while the hostile one misbehaves. */
  private void othersAreServed(int seq) {
    PeerClient good = transport.client(server.address());
    ByteBuffer data = block(1000 + seq, 4096);
    good.put(ref(100_000 + seq), 1, data, crc(data), false, D).join();
    assertThat(good.get(ref(100_000 + seq), D).join()).isEqualTo(data);
  }

  @Test
  void putFloodThatNeverReadsAnswersIsBounded() throws Exception {
    store.putDelay(20); // a slow disk: 4 workers take 200 puts/s
    ByteBuffer data = block(1, MIB);
    byte[] bytes = data.array();
    int crc = crc(data);
    Sampler sampler = new Sampler();
    sampler.start();
    try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      Thread flood = new Thread(() -> {
        try {
          hello(out);
          for (int i = 0; i < 64; i++) {
            frame(out, Header.newBuilder().setRequestId(i + 1).setOp(Op.PUT)
                .setRef(PeerProtocol.ref(ref(i))).setVolumeId(9).setEpoch(1).setCrc32C(crc)
                .build(), bytes);
          }
          out.flush();
        } catch (Exception e) {
          // the server closed the connection: fine
        }
      });
      flood.setDaemon(true);
      flood.start();
      for (int i = 0; i < 5; i++) {
        othersAreServed(i);
        Thread.sleep(50);
      }
      flood.join(30_000);
      assertThat(flood.isAlive()).isFalse();
    } finally {
      sampler.done = true;
      sampler.join();
    }
    // 4 MiB per connection: a handful of 1 MiB puts in flight, never the whole flood
    assertThat(sampler.peakQueue.get()).isLessThanOrEqualTo(6);
    assertThat(sampler.peakBytes.get()).isLessThanOrEqualTo(6L * MIB);
    awaitIdle();
  }

  @Test
  void getFloodThatNeverReadsAnswersIsBounded() throws Exception {
    ByteBuffer data = block(2, MIB);
    PeerClient good = transport.client(server.address());
    good.put(ref(1), 1, data, crc(data), false, D).join();
    int before = store.gets();
    Sampler sampler = new Sampler();
    sampler.start();
    try (Socket s = new Socket()) {
      s.setReceiveBufferSize(64 << 10);
      s.connect(new InetSocketAddress("127.0.0.1", server.address().getPort()));
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      hello(out);
      for (int i = 0; i < 300; i++) {
        frame(out, Header.newBuilder().setRequestId(i + 1).setOp(Op.GET)
            .setRef(PeerProtocol.ref(ref(1))).build(), new byte[0]);
      }
      out.flush();
      Thread.sleep(1500); // never reads a byte
      othersAreServed(1);
      int served = store.gets() - before - 1;
      // 4 MiB per connection plus what the socket buffers hold: far from 300 MiB of answers
      assertThat(served).isLessThan(30);
      // 4 requests admitted at a time, each answer 1 MiB, held until written
      assertThat(sampler.peakBytes.get()).isLessThanOrEqualTo(9L * MIB);
    } finally {
      sampler.done = true;
      sampler.join();
    }
    awaitIdle();
  }

  @Test
  void clientKeepsTheBudgetOfExpiredRequestsUntilTheirFramesLeave() throws Exception {
    TransportOptions small = new TransportOptions(1, Duration.ofMillis(200),
        Duration.ofSeconds(2), 4 * MIB + 64 * 1024);
    try (ServerSocket stalled = new ServerSocket()) {
      stalled.setReceiveBufferSize(64 << 10);
      stalled.bind(new InetSocketAddress("127.0.0.1", 0));
      Thread acceptor = new Thread(() -> {
        try (Socket s = stalled.accept()) {
          Thread.sleep(60_000); // accepts, never reads
        } catch (Exception e) {
          // closed by the test
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      ByteBuffer data = block(3, MIB);
      int crc = crc(data);
      int noRoom = 0;
      try (PeerTransport t = new PeerTransport("c", small, callbacks)) {
        PeerClient c = t.client((InetSocketAddress) stalled.getLocalSocketAddress());
        for (int i = 0; i < 30; i++) {
          try {
            c.put(ref(i), 1, data, crc, false, null).join();
          } catch (CompletionException e) {
            if (e.getCause().getMessage().contains("no room")) {
              noRoom++;
            }
          }
        }
      }
      acceptor.interrupt();
      // without the fix every put expires and returns its budget: 30 MiB handed to the
      // socket; with it, only what fits in the budget and the kernel's buffers is ever sent
      assertThat(noRoom).isGreaterThanOrEqualTo(15);
    }
  }

  private void awaitIdle() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.inFlightBytes() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(server.inFlightBytes()).isZero();
  }
}
