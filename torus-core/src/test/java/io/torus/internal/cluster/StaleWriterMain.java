package io.torus.internal.cluster;

import io.torus.BlockVolume;
import io.torus.Torus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Writer A of {@link StaleWriterIT}, a client-only node in its own JVM: writes and flushes
 * 0xAA over the first {@code blocks} blocks of volume "v" (prints {@code FLUSHED}), writes
 * 0xBB over them without flushing (prints {@code WROTE}), then on each line of standard input
 * tries the named operation and prints {@code OK op} or {@code FAILED op ExceptionClass}.
 */
public final class StaleWriterMain {
  private StaleWriterMain() {}

  public static void main(String[] args) throws Exception {
    String etcd = args[0];
    String prefix = args[1];
    int blocks = Integer.parseInt(args[2]);
    try (Torus t = Torus.builder().etcd(List.of(etcd)).etcdPrefix(prefix).peer(false)
        .ioTimeout(Duration.ofSeconds(5)).peerTimeout(Duration.ofSeconds(2)).build()) {
      BlockVolume v = t.openVolume("v");
      int bs = v.blockSize();
      v.write(0, fill(blocks * bs, (byte) 0xAA));
      v.flush();
      System.out.println("FLUSHED");
      v.write(0, fill(blocks * bs, (byte) 0xBB));
      System.out.println("WROTE");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
          StandardCharsets.UTF_8));
      for (String op = in.readLine(); op != null && !op.equals("EXIT"); op = in.readLine()) {
        try {
          if (op.equals("FLUSH")) {
            v.flush();
          } else {
            v.write(0, fill(bs, (byte) 0xDD));
          }
          System.out.println("OK " + op);
        } catch (RuntimeException e) {
          System.out.println("FAILED " + op + " " + e.getClass().getSimpleName());
        }
        System.out.flush();
      }
    }
  }

  private static ByteBuffer fill(int n, byte b) {
    byte[] a = new byte[n];
    Arrays.fill(a, b);
    return ByteBuffer.wrap(a);
  }
}
