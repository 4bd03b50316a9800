package io.torus.internal.meta.etcd;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A writer in its own JVM, driven through stdin/stdout by {@link EtcdWriterProcessIT}.
 *
 * <p>Arguments: endpoint, root prefix, volume id, holder, lease TTL seconds. It locks the
 * volume and prints {@code LOCKED <epoch>}; then for each {@code COMMIT} line it commits a
 * head whose root names sequence 99 and prints {@code COMMITTED <revision>} or
 * {@code FAILED <exception class>}; {@code EXIT} closes the service and exits.
 */
public final class LockHolderMain {
  private LockHolderMain() {}

  /** Runs the writer. */
  public static void main(String[] args) throws Exception {
    long volumeId = Long.parseLong(args[2]);
    try (EtcdMetadataService meta = EtcdMetadataService.builder().endpoints(args[0])
        .rootPrefix(args[1]).leaseTtl(Duration.ofSeconds(Long.parseLong(args[4])))
        .requestTimeout(Duration.ofSeconds(2)).build()) {
      VolumeLock lock = meta.lockVolume(volumeId, args[3]);
      System.out.println("LOCKED " + lock.epoch());
      System.out.flush();
      Head head = lock.head();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
          StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.equals("EXIT")) {
          break;
        }
        try {
          head = meta.commitHead(lock, head,
              new BlockRef(volumeId, head.generation(), 99, BlockKind.MAP),
              head.generation() + 1);
          System.out.println("COMMITTED " + head.revision());
        } catch (RuntimeException e) {
          System.out.println("FAILED " + e.getClass().getName());
        }
        System.out.flush();
      }
    }
  }
}
