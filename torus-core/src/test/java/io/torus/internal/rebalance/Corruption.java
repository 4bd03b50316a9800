package io.torus.internal.rebalance;

import io.torus.spi.BlockRef;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/** Flips bytes of stored blocks in a peer's data files (the peer keeps running). */
final class Corruption {
  private static final int NEEDLE = 64;

  private Corruption() {}

  /**
   * Corrupts up to {@code n} distinct data blocks peer {@code i} holds: finds the first 64
   * bytes of each block's content in its store files and inverts two of them. Returns how
   * many were corrupted.
   */
  static int flipBlocks(RebalanceCluster c, int i, int n) throws IOException {
    List<byte[]> needles = new ArrayList<>();
    for (BlockRef ref : c.holdings(i)) {
      if (needles.size() == n) {
        break;
      }
      if (ref.kind() != io.torus.spi.BlockKind.DATA) {
        continue;
      }
      ByteBuffer b = c.peerClient(i).get(ref, RebalanceCluster.D).join();
      byte[] head = new byte[NEEDLE];
      b.get(head);
      needles.add(head);
    }
    int done = 0;
    try (Stream<Path> files = Files.walk(c.peers.dataDirectory(i).resolve("store"))) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        done += flipIn(f, needles);
      }
    }
    return done;
  }

  private static int flipIn(Path f, List<byte[]> needles) throws IOException {
    int done = 0;
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      long len = raf.length();
      byte[] chunk = new byte[8 << 20];
      for (long pos = 0; pos < len && !needles.isEmpty(); pos += chunk.length - NEEDLE) {
        raf.seek(pos);
        int got = raf.read(chunk, 0, (int) Math.min(chunk.length, len - pos));
        for (int k = 0; k + NEEDLE <= got && !needles.isEmpty(); k++) {
          for (byte[] nd : needles) {
            if (chunk[k] == nd[0] && Arrays.equals(chunk, k, k + NEEDLE, nd, 0, NEEDLE)) {
              raf.seek(pos + k + 10);
              raf.write(new byte[] {(byte) ~nd[10], (byte) ~nd[11]});
              needles.remove(nd);
              done++;
              break;
            }
          }
        }
      }
    }
    return done;
  }
}
