package io.torus.examples;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Embedding Torus in one JVM: a node with a data directory (file store and local metadata, no
 * etcd), a volume written, flushed, and read back after the node restarts.
 *
 * <p>Run: {@code java -cp torus.jar io.torus.examples.LocalVolumeExample /tmp/torus-example}
 */
public final class LocalVolumeExample {
  private LocalVolumeExample() {}

  public static void main(String[] args) {
    Path dir = Path.of(args.length > 0 ? args[0] : "torus-example");
    System.out.println(run(dir));
  }

  /** Writes a greeting into volume "notes" (created if missing) and reads it back. */
  public static String run(Path dataDirectory) {
    byte[] greeting = "hello from a Torus volume".getBytes(StandardCharsets.UTF_8);
    try (Torus torus = Torus.builder().dataDirectory(dataDirectory).build()) {
      if (torus.volumes().stream().noneMatch(v -> v.name().equals("notes"))) {
        torus.createVolume(VolumeSpec.builder("notes", 64L << 20) // 64 MiB, thin
            .replication(1)                                       // one store on this node
            .build());
      }
      try (BlockVolume notes = torus.openVolume("notes")) {
        notes.write(1_000_000, ByteBuffer.wrap(greeting)); // any offset, any length
        notes.flush();                                      // durable from here on
      }
    }
    // A new node on the same directory (as after a restart) sees the flushed data.
    try (Torus torus = Torus.builder().dataDirectory(dataDirectory).build();
        BlockVolume notes = torus.openVolumeReadOnly("notes")) {
      ByteBuffer back = ByteBuffer.allocate(greeting.length);
      notes.read(1_000_000, back);
      return new String(back.array(), StandardCharsets.UTF_8);
    }
  }
}
