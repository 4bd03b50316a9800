package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.internal.PlatformDependent;
import io.torus.nbd.internal.Nbd;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Slow and hostile clients against the server's limits: parked connections (mid-handshake,
 * idle, stopped mid-WRITE) must neither keep a well-behaved real client out nor make memory
 * grow with their number; timeouts close what stalls; the global in-flight byte cap holds
 * under concurrent large writes.
 */
class SlowClientIT extends NbdITBase {
  private static final long MIB = 1 << 20;
  private final List<ParkedClient> parked = new ArrayList<>();

  @AfterEach
  void closeParked() throws Exception {
    for (ParkedClient p : parked) {
      p.close();
    }
  }

  /**
   * 1 300 parked connections, a third of each kind, against default limits (1024
   * connections, 256 MiB in flight, timeouts long enough not to fire): a new nbdinfo and a
   * nbdsh that writes and verifies 4 MiB are served at once, by eviction, and the JVM's heap
   * plus direct memory grows by less than the cap plus 96 MiB (one overdraft of 32 MiB,
   * socket reads and payload chunks of the connections reading when the cap was reached,
   * Netty's pools, and the heap cost of 1 300 channels).
   */
  @Test
  @Timeout(60)
  void parkedConnectionsNeitherKeepClientsOutNorGrowMemory() throws Exception {
    NbdServer s = NbdServer.builder().port(0).addExport("vol", volume("vol", 64 * MIB))
        .handshakeTimeout(Duration.ofSeconds(60)).readTimeout(Duration.ofSeconds(60))
        .start();
    servers.add(s);
    long before = usedMemory();
    long heapBefore = heapUsed();
    ByteBuffer payload = ByteBuffer.allocateDirect((int) (2 * MIB));
    long started = System.nanoTime();
    long sent = 0;
    int handshakeFailures = 0;
    for (int i = 0; i < 1300; i++) {
      try {
        ParkedClient c = new ParkedClient(s.port());
        parked.add(c);
        switch (i % 3) {
          case 0 -> c.stopMidHandshake();
          case 1 -> c.handshake("vol");
          default -> sent += c.handshake("vol").stopMidWrite(32 * MIB, payload);
        }
      } catch (java.io.IOException e) {
        handshakeFailures++; // an older parked connection evicted while we handshake
      }
    }
    double parkSeconds = (System.nanoTime() - started) / 1e9;
    long peakWhileParked = usedMemory();
    NbdServer.Stats parkedStats = s.stats();

    System.out.printf("parked: heap+direct +%d MiB (heap +%d MiB)%n",
        (peakWhileParked - before) / MIB, (heapUsed() - heapBefore) / MIB);
    long t0 = System.nanoTime();
    Tools.Result info = Tools.run(TOOL_TIMEOUT, "nbdinfo", s.uri("vol")).ok();
    double infoSeconds = (System.nanoTime() - t0) / 1e9;
    t0 = System.nanoTime();
    Tools.Result io = Tools.nbdsh(TOOL_TIMEOUT, s.uri("vol"), String.join("\n",
        "data = bytes(range(256)) * 16384",
        "h.pwrite(data, 8 << 20, nbd.CMD_FLAG_FUA)",
        "assert h.pread(len(data), 8 << 20) == data",
        "print('IO-OK')")).ok();
    double ioSeconds = (System.nanoTime() - t0) / 1e9;
    long after = usedMemory();
    NbdServer.Stats st = s.stats();
    System.out.printf("parked 1300 in %.1f s (%d failed handshakes, %d MiB payload sent);"
        + " open %d, evicted %d, refused %d, timeouts %d; in flight %d MiB, peak %d MiB;"
        + " memory +%d MiB parked, +%d MiB after clients; nbdinfo %.2f s, nbdsh %.2f s%n",
        parkSeconds, handshakeFailures, sent / MIB, parkedStats.connections(), st.evictions(),
        st.refusals(), st.timeouts(), st.inFlightBytes() / MIB, st.peakInFlightBytes() / MIB,
        (peakWhileParked - before) / MIB, (after - before) / MIB, infoSeconds, ioSeconds);
    assertThat(info.out()).contains("export-size: " + 64 * MIB);
    assertThat(io.out()).contains("IO-OK");
    assertThat(st.refusals()).as("refused connections").isZero();
    assertThat(st.timeouts()).as("timeouts (eviction must do it)").isZero();
    assertThat(parkedStats.connections()).isLessThanOrEqualTo(1024);
    assertThat(st.evictions()).isGreaterThanOrEqualTo(1300 - 1024);
    assertThat(infoSeconds).as("nbdinfo served without waiting for a timeout").isLessThan(20);
    long bound = 256 * MIB + 96 * MIB;
    assertThat(Math.max(peakWhileParked, after) - before).as("memory growth").isLessThan(bound);
    assertThat(st.peakInFlightBytes()).isLessThan(256 * MIB + 32 * MIB + 1024 * 2 * MIB);
  }

  /** A client stopped mid-handshake is closed after the handshake timeout. */
  @Test
  @Timeout(20)
  void midHandshakeConnectionClosedAfterHandshakeTimeout() throws Exception {
    NbdServer s = NbdServer.builder().port(0).addExport("vol", volume("vol", 4 * MIB))
        .handshakeTimeout(Duration.ofMillis(500)).start();
    servers.add(s);
    ParkedClient stuck = new ParkedClient(s.port()).stopMidHandshake();
    parked.add(stuck);
    ParkedClient silent = new ParkedClient(s.port());
    parked.add(silent);
    ParkedClient done = new ParkedClient(s.port()).handshake("vol");
    parked.add(done);
    long t0 = System.nanoTime();
    assertThat(stuck.awaitClosed(5000)).as("mid-handshake connection closed").isTrue();
    assertThat(silent.awaitClosed(5000)).as("silent connection closed").isTrue();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).isBetween(300L, 3000L);
    assertThat(done.awaitClosed(700)).as("connection in transmission kept").isFalse();
    assertThat(s.stats().timeouts()).isEqualTo(2);
    assertThat(s.connectionCount()).isEqualTo(1);
  }

  /**
   * A WRITE whose payload stops arriving is closed after the read timeout, its buffers are
   * released (the budget returns to zero; leak detection runs after the test); an idle
   * connection is closed after the idle timeout, and one with traffic is not.
   */
  @Test
  @Timeout(20)
  void stalledWriteAndIdleConnectionClosedAndReleased() throws Exception {
    NbdServer s = NbdServer.builder().port(0).addExport("vol", volume("vol", 64 * MIB))
        .readTimeout(Duration.ofMillis(800)).idleTimeout(Duration.ofMillis(1500)).start();
    servers.add(s);
    ParkedClient writer = new ParkedClient(s.port()).handshake("vol");
    parked.add(writer);
    long sent = writer.stopMidWrite(32 * MIB, ByteBuffer.allocateDirect((int) (3 * MIB)));
    ParkedClient idle = new ParkedClient(s.port()).handshake("vol");
    parked.add(idle);
    long deadline = System.nanoTime() + 2_000_000_000L;
    while (s.stats().inFlightBytes() < Math.min(sent, 2 * MIB) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    long held = s.stats().inFlightBytes();
    long t0 = System.nanoTime();
    try (RawClient active = new RawClient(s.port())) {
      active.handshake("vol");
      assertThat(writer.awaitClosed(5000)).as("stalled writer closed").isTrue();
      long writerMs = (System.nanoTime() - t0) / 1_000_000;
      for (int i = 0; i < 20; i++) { // 2 s of traffic, every 100 ms: never idle long enough
        active.request(0, Nbd.CMD_FLUSH, i, 0, 0);
        active.flush();
        assertThat(active.simpleReplyError(i)).isZero();
        Thread.sleep(100);
      }
      assertThat(idle.awaitClosed(3000)).as("idle connection closed").isTrue();
      long idleMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("stalled writer (%d KiB sent, %d KiB held) closed after %d ms,"
          + " idle one after %d ms%n", sent >> 10, held >> 10, writerMs, idleMs);
      assertThat(held).as("payload bytes counted while parked").isGreaterThan(0);
      assertThat(writerMs).isBetween(500L, 3000L);
      deadline = System.nanoTime() + 2_000_000_000L;
      while (s.stats().inFlightBytes() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(s.stats().inFlightBytes()).as("budget after the close").isZero();
      assertThat(s.stats().timeouts()).isEqualTo(2);
      assertThat(s.connectionCount()).isEqualTo(1);
    }
  }

  /**
   * 16 connections each pipelining four 8 MiB writes (512 MiB asked at once) against a cap of
   * 40 MiB: every write succeeds and reads back, and the bytes held never exceed the cap by
   * more than a socket read and a payload chunk per connection (64 KiB + 1 MiB), the payload
   * copies of WRITEs being completed (one per event-loop thread, 8 MiB each) and the one
   * overdraft (one 8 MiB payload).
   */
  @Test
  @Timeout(60)
  void globalCapHoldsUnderConcurrentLargeWrites() throws Exception {
    long cap = 40 * MIB;
    int conns = 16;
    int size = (int) (8 * MIB);
    NbdServer s = NbdServer.builder().port(0).addExport("vol", volume("vol", 512 * MIB))
        .maxTotalInFlightBytes(cap).ioThreads(2).start();
    servers.add(s);
    ExecutorService pool = Executors.newFixedThreadPool(conns);
    long t0 = System.nanoTime();
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < conns; c++) {
        int conn = c;
        done.add(pool.submit(() -> {
          byte[] data = new byte[size];
          try (RawClient r = new RawClient(s.port())) {
            r.handshake("vol");
            for (int i = 0; i < 4; i++) {
              java.util.Arrays.fill(data, (byte) (conn * 4 + i));
              r.request(0, Nbd.CMD_WRITE, i, (long) (conn * 4 + i) * size, size);
              r.out().write(data);
            }
            r.flush();
            java.util.Set<Long> cookies = new java.util.HashSet<>();
            for (int i = 0; i < 4; i++) { // replies come in completion order
              ByteBuffer reply = ByteBuffer.allocate(Nbd.SIMPLE_REPLY_SIZE);
              r.readFully(reply.array());
              assertThat(reply.getInt(0)).isEqualTo(Nbd.SIMPLE_REPLY_MAGIC);
              assertThat(reply.getInt(4)).as("write error").isZero();
              cookies.add(reply.getLong(8));
            }
            assertThat(cookies).containsExactlyInAnyOrder(0L, 1L, 2L, 3L);
            r.request(0, Nbd.CMD_READ, 9, (long) (conn * 4 + 3) * size, size);
            r.flush();
            assertThat(r.simpleReplyError(9)).isZero();
            r.readFully(data);
            for (byte b : data) {
              assertThat(b).isEqualTo((byte) (conn * 4 + 3));
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    NbdServer.Stats st = s.stats();
    long perConnection = MIB + 64 * 1024;
    long allowed = cap + size + 2 * size + conns * perConnection;
    System.out.printf("%d connections x 4 x %d MiB writes in %.1f s: peak %.1f MiB in flight"
        + " (cap %d MiB, allowed %d MiB)%n", conns, size / MIB, (System.nanoTime() - t0) / 1e9,
        st.peakInFlightBytes() / (double) MIB, cap / MIB, allowed / MIB);
    assertThat(st.peakInFlightBytes()).isLessThanOrEqualTo(allowed);
    assertThat(st.peakInFlightBytes()).as("the cap was reached").isGreaterThanOrEqualTo(cap);
    assertThat(st.evictions()).isZero();
  }

  private static long heapUsed() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Heap used after a collection plus direct memory (Netty's counter and the JDK's pool). */
  private static long usedMemory() throws InterruptedException {
    System.gc();
    Thread.sleep(100);
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long direct = Math.max(0, PlatformDependent.usedDirectMemory());
    for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (b.getName().equals("direct")) {
        direct += b.getMemoryUsed();
      }
    }
    return heap + direct;
  }
}
