package io.torus.testing.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A fault-injecting TCP proxy on loopback: forwards connections from its port to a target
 * port, and on command cuts, blackholes, delays or resets them.
 *
 * <ul>
 *   <li>{@link Mode#PASS}: forward bytes.
 *   <li>{@link Mode#BLACKHOLE}: keep connections open, silently drop every byte both ways.
 *   <li>{@link Mode#DELAY}: forward each chunk after {@link #delayMillis}.
 *   <li>{@link #cut()}: close every connection (FIN); new ones are closed at once while the
 *       mode is {@link Mode#CUT}.
 *   <li>{@link #reset()}: abort every connection with RST (SO_LINGER 0).
 * </ul>
 *
 * <p>Thread-safe; one thread per direction per connection (tests are small). Loopback only.
 */
public final class FaultProxy implements AutoCloseable {
  /** What happens to traffic. */
  public enum Mode { PASS, BLACKHOLE, DELAY, CUT }

  private final ServerSocket server;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile int target;
  private volatile Mode mode = Mode.PASS;
  private volatile long delayMillis;
  private volatile boolean closed;

  /** A proxy on a free loopback port; set the target before traffic arrives. */
  public FaultProxy() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "fault-proxy-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  /** The proxy's own port. */
  public int port() {
    return server.getLocalPort();
  }

  /** Where new connections are forwarded. */
  public void target(int port) {
    this.target = port;
  }

  /** Sets the mode for all traffic from now on. */
  public void mode(Mode m) {
    this.mode = m;
    if (m == Mode.CUT) {
      cut();
    }
  }

  /** Delay per forwarded chunk in {@link Mode#DELAY}. */
  public void delayMillis(long ms) {
    this.delayMillis = ms;
  }

  /** Closes every open connection. */
  public void cut() {
    for (Socket s : sockets) {
      closeQuietly(s);
    }
    sockets.clear();
  }

  /** Aborts every open connection with a TCP reset. */
  public void reset() {
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0);
      } catch (IOException e) {
        // already closed
      }
      closeQuietly(s);
    }
    sockets.clear();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket in = server.accept();
        if (mode == Mode.CUT) {
          closeQuietly(in);
          continue;
        }
        Socket out;
        try {
          out = new Socket(InetAddress.getLoopbackAddress(), target);
        } catch (IOException e) {
          // The target is down: refuse like a dead peer's port would, instead of holding the
          // accepted connection open with nothing behind it.
          in.setSoLinger(true, 0);
          closeQuietly(in);
          continue;
        }
        in.setTcpNoDelay(true); // the peer protocol is request/response: no Nagle delays
        out.setTcpNoDelay(true);
        sockets.add(in);
        sockets.add(out);
        pump(in, out);
        pump(out, in);
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 << 10];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          Mode m = mode;
          if (m == Mode.BLACKHOLE) {
            continue;
          }
          if (m == Mode.DELAY) {
            Thread.sleep(delayMillis);
          }
          out.write(buf, 0, n);
        }
      } catch (IOException | InterruptedException e) {
        // connection ended
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "fault-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // ignore
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // ignore
    }
    cut();
  }
}
