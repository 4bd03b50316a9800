package io.torus.internal.rebalance;

import static io.torus.internal.rebalance.RebalanceCluster.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.EncryptionKeyException;
import io.torus.KeyProviders;
import io.torus.Torus;
import io.torus.testing.etcd.EtcdCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An encrypted volume on three peer processes (file stores, R=2) and a real etcd: no peer's
 * store files hold any of the plaintext; a copy corrupted on disk is read from the other
 * replica and repaired by scrub; a client without the key cannot open the volume.
 */
class EncryptedVolumeIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();
  private static final int BLOCK = 16 * 1024;
  private static final int NEEDLE = 32;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void peersHoldOnlyCiphertextAndScrubRepairsIt() throws Exception {
    List<String> opts = List.of("-Dtorus.peer.scrubInterval=PT1S",
        "-Dtorus.peer.scrubRate=" + 64L * MIB, "-Dtorus.peer.antiEntropy=PT30S");
    try (RebalanceCluster c = new RebalanceCluster(ETCD.endpoint(0), "/enc", 3, opts)) {
      c.kek = KeyProviders.ofKey(KeyProviders.generateHex().substring(0, 32).getBytes());
      c.awaitSettled(3, Duration.ofSeconds(60));
      c.write(16L * MIB, BLOCK, 9);

      // 512 needles of plaintext, one from every 32 KiB of the volume: none on any disk
      List<byte[]> plain = new ArrayList<>();
      for (int off = BLOCK; off + NEEDLE <= c.model.length; off += 2 * BLOCK) {
        plain.add(Arrays.copyOfRange(c.model, off + 100, off + 100 + NEEDLE));
      }
      for (int i = 0; i < 3; i++) {
        assertThat(count(c.peers.dataDirectory(i).resolve("store"), plain))
            .as("plaintext found on peer %d", i).isZero();
      }
      // the same search finds ciphertext: peer 0's own copies, 8 of them, which it corrupts
      String victim = c.nodeId(0);
      c.awaitSettled(3, Duration.ofSeconds(60));
      long before = c.status().reports().get(victim).repaired();
      assertThat(Corruption.flipBlocks(c, 0, 8)).isEqualTo(8);
      ClusterStatus s = c.await("scrub repairs on peer 0", Duration.ofSeconds(90),
          st -> st.reports().get(victim).repaired() - before >= 8);
      assertThat(s.reports().get(victim).corruptFound()).isGreaterThanOrEqualTo(8);
      c.verify();
      // corrupt copies not yet scrubbed: reads skip them for the good replica
      assertThat(Corruption.flipBlocks(c, 0, 16)).isEqualTo(16);
      c.verify();

      c.kek = KeyProviders.ofKey(new byte[32]);
      try (Torus other = c.client()) {
        assertThatThrownBy(() -> other.openVolumeReadOnly("vol"))
            .isInstanceOf(EncryptionKeyException.class)
            .hasMessageContaining("volume 'vol' is encrypted with key");
      }
    }
  }

  /**
   * How many of {@code needles} occur in the files under {@code dir}: one pass over each file
   * in 8 MiB chunks (overlapping by a needle), looking up the 8 bytes at every position.
   */
  private static int count(Path dir, List<byte[]> needles) throws IOException {
    java.util.Map<Long, byte[]> byPrefix = new java.util.HashMap<>();
    for (byte[] n : needles) {
      byPrefix.put(java.nio.ByteBuffer.wrap(n).getLong(), n);
    }
    java.util.Set<byte[]> found = new java.util.HashSet<>();
    byte[] chunk = new byte[8 << 20];
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "r")) {
          long len = raf.length();
          for (long pos = 0; pos < len; pos += chunk.length - NEEDLE) {
            raf.seek(pos);
            int got = raf.read(chunk, 0, (int) Math.min(chunk.length, len - pos));
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(chunk, 0, got);
            for (int k = 0; k + NEEDLE <= got; k++) {
              byte[] n = byPrefix.get(b.getLong(k));
              if (n != null && Arrays.equals(chunk, k, k + NEEDLE, n, 0, NEEDLE)) {
                found.add(n);
              }
            }
          }
        }
      }
    }
    return found.size();
  }
}
