package io.torus.examples;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A peer and a client against etcd: the peer contributes a file store to the cluster, the
 * client (holding no blocks) creates a volume whose blocks live on the peers, writes, flushes
 * and reads back.
 *
 * <p>Run (etcd on 127.0.0.1:2379): {@code java -cp torus.jar io.torus.examples.ClusterExample
 * http://127.0.0.1:2379 /tmp/torus-peer}
 */
public final class ClusterExample {
  private ClusterExample() {}

  public static void main(String[] args) {
    String etcd = args.length > 0 ? args[0] : "http://127.0.0.1:2379";
    Path dir = Path.of(args.length > 1 ? args[1] : "torus-peer");
    System.out.println(run(List.of(etcd), "/torus-example", dir));
  }

  /** Starts one peer and one client of the cluster at {@code etcd}; returns what was read. */
  public static String run(List<String> etcd, String prefix, Path peerDirectory) {
    byte[] note = "stored on the cluster's peers".getBytes(StandardCharsets.UTF_8);
    try (Torus peer = Torus.builder()
            .etcd(etcd).etcdPrefix(prefix)          // the cluster's metadata
            .dataDirectory(peerDirectory)            // its file store lives here
            .storeCapacity(1L << 30)
            .listen("127.0.0.1", 0)                  // the peer protocol, any free port
            .build();
        Torus client = Torus.builder()
            .etcd(etcd).etcdPrefix(prefix)
            .peer(false)                             // client-only: holds no blocks
            .build()) {
      if (client.volumes().stream().noneMatch(v -> v.name().equals("shared"))) {
        client.createVolume(VolumeSpec.builder("shared", 64L << 20).replication(1).build());
      }
      try (BlockVolume v = openWhenRingReady(client)) {
        v.write(0, ByteBuffer.wrap(note));
        v.flush(); // durable on the peer once this returns
        ByteBuffer back = ByteBuffer.allocate(note.length);
        v.read(0, back);
        return new String(back.array(), StandardCharsets.UTF_8);
      }
    }
  }

  /** A new cluster has no ring until its first peer joined: wait a little for it. */
  private static BlockVolume openWhenRingReady(Torus client) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (client.cluster().ring().isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return client.openVolume("shared");
  }
}
