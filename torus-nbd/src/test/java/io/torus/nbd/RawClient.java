package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.nbd.internal.Nbd;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately minimal NBD client over a plain socket, for sending what real clients never
 * send. Every read has a timeout, so a server that hangs fails the test instead of stalling.
 * Given an {@link SSLContext}, valid client flags are followed by STARTTLS and everything
 * after goes over TLS.
 */
final class RawClient implements Closeable {
  private final int port;
  private final SSLContext tls;
  private Socket socket = new Socket();
  private DataInputStream in;
  private DataOutputStream out;

  /** An option reply: option, type and data. */
  record OptionReply(int option, int type, byte[] data) {}

  RawClient(int port) throws IOException {
    this(port, null);
  }

  /** A client that upgrades to TLS with {@code tls} after valid client flags (null: never). */
  RawClient(int port, SSLContext tls) throws IOException {
    this.port = port;
    this.tls = tls;
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(15_000);
    socket.setTcpNoDelay(true);
    in = new DataInputStream(socket.getInputStream());
    out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 65536));
    assertThat(in.readLong()).isEqualTo(Nbd.NBDMAGIC);
    assertThat(in.readLong()).isEqualTo(Nbd.IHAVEOPT);
    assertThat(in.readUnsignedShort()).isEqualTo(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
  }

  DataOutputStream out() {
    return out;
  }

  void clientFlags(int flags) throws IOException {
    clientFlagsPlain(flags);
    boolean valid = (flags & Nbd.FLAG_FIXED_NEWSTYLE) != 0
        && (flags & ~(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)) == 0;
    if (tls != null && valid) {
      startTls();
    }
  }

  /** Sends client flags and never upgrades. */
  void clientFlagsPlain(int flags) throws IOException {
    out.writeInt(flags);
    out.flush();
  }

  /** STARTTLS, asserting ACK, then the TLS handshake; the streams switch to TLS. */
  void startTls() throws IOException {
    option(Nbd.OPT_STARTTLS, new byte[0]);
    OptionReply r = optionReply();
    assertThat(r.type()).as("STARTTLS reply").isEqualTo(Nbd.REP_ACK);
    upgrade();
  }

  /** Runs the TLS handshake on the connection, after a STARTTLS the server acknowledged. */
  void upgrade() throws IOException {
    SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(socket, "127.0.0.1", port,
        true);
    s.setUseClientMode(true);
    s.startHandshake();
    socket = s;
    in = new DataInputStream(s.getInputStream());
    out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 65536));
  }

  void option(int option, byte[] data) throws IOException {
    optionHeader(option, data.length);
    out.write(data);
    out.flush();
  }

  void optionHeader(int option, long length) throws IOException {
    out.writeLong(Nbd.IHAVEOPT);
    out.writeInt(option);
    out.writeInt((int) length);
  }

  OptionReply optionReply() throws IOException {
    assertThat(in.readLong()).isEqualTo(Nbd.OPTION_REPLY_MAGIC);
    int option = in.readInt();
    int type = in.readInt();
    long len = Integer.toUnsignedLong(in.readInt());
    assertThat(len).isLessThanOrEqualTo(64 * 1024);
    byte[] data = new byte[(int) len];
    in.readFully(data);
    return new OptionReply(option, type, data);
  }

  static byte[] goData(String name) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    byte[] d = new byte[4 + n.length + 2];
    d[0] = (byte) (n.length >>> 24);
    d[1] = (byte) (n.length >>> 16);
    d[2] = (byte) (n.length >>> 8);
    d[3] = (byte) n.length;
    System.arraycopy(n, 0, d, 4, n.length);
    return d;
  }

  /** Client flags, then GO to {@code name}; asserts success. */
  void handshake(String name) throws IOException {
    clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    option(Nbd.OPT_GO, goData(name));
    while (true) {
      OptionReply r = optionReply();
      assertThat(r.type()).as("GO reply type").isGreaterThan(0);
      if (r.type() == Nbd.REP_ACK) {
        return;
      }
    }
  }

  void request(int flags, int type, long cookie, long offset, long length) throws IOException {
    out.writeInt(Nbd.REQUEST_MAGIC);
    out.writeShort(flags);
    out.writeShort(type);
    out.writeLong(cookie);
    out.writeLong(offset);
    out.writeInt((int) length);
  }

  void flush() throws IOException {
    out.flush();
  }

  /** Reads a simple reply header and returns its error; asserts the cookie. */
  int simpleReplyError(long cookie) throws IOException {
    assertThat(in.readInt()).isEqualTo(Nbd.SIMPLE_REPLY_MAGIC);
    int error = in.readInt();
    assertThat(in.readLong()).isEqualTo(cookie);
    return error;
  }

  void readFully(byte[] b) throws IOException {
    in.readFully(b);
  }

  /** Waits for the server to close the connection; fails if it does not within the timeout. */
  void expectClosed() throws IOException {
    byte[] sink = new byte[65536];
    try {
      while (in.read(sink) != -1) {
        // drain
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("server neither answered nor closed the connection", e);
    } catch (IOException e) {
      // reset by the server: closed too
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
