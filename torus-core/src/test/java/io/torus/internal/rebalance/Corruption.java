package io.torus.internal.rebalance;

import io.torus.spi.BlockKind;
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

  /** A block to corrupt and the first bytes of its content, searched for in the files. */
  private record Needle(BlockRef ref, byte[] head) {}

  /**
   * Corrupts up to {@code n} distinct data blocks peer {@code i} holds: finds the first 64
   * bytes of each block's content in its store files and inverts two of them. Returns how
   * many were corrupted.
   */
  static int flipBlocks(RebalanceCluster c, int i, int n) throws IOException {
    List<BlockRef> refs = c.holdings(i).stream().filter(r -> r.kind() == BlockKind.DATA)
        .limit(n).toList();
    return flip(c, i, refs).size();
  }

  /**
   * Corrupts the copies of {@code refs} (blocks with distinct, random content) that peer
   * {@code i} holds, as {@link #flipBlocks} does; returns the refs found and corrupted.
   */
  static List<BlockRef> flip(RebalanceCluster c, int i, List<BlockRef> refs)
      throws IOException {
    List<Needle> needles = new ArrayList<>();
    for (BlockRef ref : refs) {
      ByteBuffer b = c.peerClient(i).get(ref, RebalanceCluster.D).join();
      byte[] head = new byte[NEEDLE];
      b.get(head);
      needles.add(new Needle(ref, head));
    }
    List<BlockRef> done = new ArrayList<>();
    try (Stream<Path> files = Files.walk(c.peers.dataDirectory(i).resolve("store"))) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        flipIn(f, needles, done);
      }
    }
    return done;
  }

  private static void flipIn(Path f, List<Needle> needles, List<BlockRef> done)
      throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      long len = raf.length();
      byte[] chunk = new byte[8 << 20];
      for (long pos = 0; pos < len && !needles.isEmpty(); pos += chunk.length - NEEDLE) {
        raf.seek(pos);
        int got = raf.read(chunk, 0, (int) Math.min(chunk.length, len - pos));
        for (int k = 0; k + NEEDLE <= got && !needles.isEmpty(); k++) {
          for (Needle n : needles) {
            byte[] nd = n.head();
            if (chunk[k] == nd[0] && Arrays.equals(chunk, k, k + NEEDLE, nd, 0, NEEDLE)) {
              raf.seek(pos + k + 10);
              raf.write(new byte[] {(byte) ~nd[10], (byte) ~nd[11]});
              needles.remove(n);
              done.add(n.ref());
              break;
            }
          }
        }
      }
    }
  }
}
