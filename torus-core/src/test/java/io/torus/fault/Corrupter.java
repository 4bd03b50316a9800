package io.torus.fault;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Flips bytes of one stored copy of a block in a peer's data files while the peer runs (bit
 * rot): finds the block's first bytes ({@code needle}, unique in the run because the payload
 * header names the write) and inverts two bytes {@code offset} bytes further on.
 */
final class Corrupter {
  private Corrupter() {}

  /** Flips the first copy found under {@code dir}; returns where, or null if none was found. */
  static String flipFirst(Path dir, byte[] needle, int offset) throws IOException {
    if (!Files.isDirectory(dir)) {
      return null;
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path f : files) {
      long at = find(f, needle);
      if (at >= 0) {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
          raf.seek(at + offset);
          byte[] two = new byte[2];
          raf.readFully(two);
          raf.seek(at + offset);
          raf.write(new byte[] {(byte) ~two[0], (byte) ~two[1]});
        }
        return dir.relativize(f) + " @" + at;
      }
    }
    return null;
  }

  private static long find(Path f, byte[] needle) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "r")) {
      long len = raf.length();
      byte[] chunk = new byte[4 << 20];
      for (long pos = 0; pos < len; pos += chunk.length - needle.length) {
        raf.seek(pos);
        int got = raf.read(chunk, 0, (int) Math.min(chunk.length, len - pos));
        for (int k = 0; k + needle.length <= got; k++) {
          if (chunk[k] == needle[0]
              && Arrays.equals(chunk, k, k + needle.length, needle, 0, needle.length)) {
            return pos + k;
          }
        }
        if (pos + got >= len) {
          break;
        }
      }
    }
    return -1;
  }
}
