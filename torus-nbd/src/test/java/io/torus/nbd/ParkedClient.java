package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.nbd.internal.Nbd;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * A client that parks a connection the way a slow or hostile one does: stopped mid-handshake,
 * idle after it, or stopped in the middle of a WRITE payload. Built on a socket channel so
 * the payload can be sent without blocking: whatever the server does not read stays in the
 * kernel's buffers, and the test thread never hangs.
 */
final class ParkedClient implements Closeable {
  private final SocketChannel ch;

  ParkedClient(int port) throws IOException {
    ch = SocketChannel.open();
    ch.socket().setSoTimeout(15_000);
    ch.connect(new InetSocketAddress("127.0.0.1", port));
    ByteBuffer greeting = read(18);
    assertThat(greeting.getLong(0)).isEqualTo(Nbd.NBDMAGIC);
  }

  /** Client flags, then the header of a GO option announcing 1000 bytes and 10 of them. */
  ParkedClient stopMidHandshake() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 + 16 + 10);
    b.putInt(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    b.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_GO).putInt(1000);
    write(b.flip());
    return this;
  }

  /** A complete GO handshake to {@code export}. */
  ParkedClient handshake(String export) throws IOException {
    byte[] name = export.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(4 + 16 + 4 + name.length + 2);
    b.putInt(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    b.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_GO).putInt(4 + name.length + 2);
    b.putInt(name.length).put(name).putShort((short) 0);
    write(b.flip());
    while (true) {
      ByteBuffer h = read(20);
      assertThat(h.getLong(0)).isEqualTo(Nbd.OPTION_REPLY_MAGIC);
      int type = h.getInt(12);
      assertThat(type).as("GO reply type").isGreaterThan(0);
      read(h.getInt(16));
      if (type == Nbd.REP_ACK) {
        return this;
      }
    }
  }

  /**
   * Sends a WRITE header announcing {@code announced} bytes and then, without blocking, as
   * much of {@code payload} as the kernel takes; never sends the rest.
   *
   * @return the payload bytes handed to the kernel
   */
  long stopMidWrite(long announced, ByteBuffer payload) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(Nbd.REQUEST_HEADER_SIZE);
    h.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_WRITE);
    h.putLong(1).putLong(0).putInt((int) announced);
    write(h.flip());
    ch.configureBlocking(false);
    ByteBuffer p = payload.duplicate();
    long sent = 0;
    for (int zeroes = 0; p.hasRemaining() && zeroes < 3; ) {
      int n = ch.write(p);
      sent += n;
      zeroes = n == 0 ? zeroes + 1 : 0;
    }
    return sent;
  }

  /** Whether the server has closed the connection (reads EOF or reset within the timeout). */
  boolean awaitClosed(long timeoutMillis) throws IOException {
    ch.configureBlocking(false);
    ByteBuffer sink = ByteBuffer.allocate(65536);
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (System.nanoTime() < deadline) {
      try {
        sink.clear();
        if (ch.read(sink) < 0) {
          return true;
        }
      } catch (IOException e) {
        return true;
      }
      sleep(10);
    }
    return false;
  }

  private void write(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private ByteBuffer read(int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("server closed the connection");
      }
    }
    return b.flip();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
