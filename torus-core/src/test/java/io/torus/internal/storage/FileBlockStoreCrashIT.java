package io.torus.internal.storage;

import static io.torus.internal.storage.TestBlocks.bytes;
import static io.torus.internal.storage.TestBlocks.crc;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.CorruptBlockException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM that writes to a {@link FileBlockStore} with SIGKILL at a random moment,
 * then reopens the store: every operation acknowledged by a completed flush is there, and no
 * block reads wrong bytes.
 *
 * <p>The child runs a deterministic operation sequence derived from the seed: op {@code i}
 * puts block {@code i} if {@code i} is even, and deletes block {@code i - LAG} if {@code i} is
 * odd. It flushes every {@code FLUSH_EVERY} ops and then prints {@code FLUSHED n}: ops
 * {@code 0..n-1} are durable. The child may have completed one more flush before it died
 * without printing it, so it has run at most ops {@code 0..n+2*FLUSH_EVERY-1}.
 */
class FileBlockStoreCrashIT {
  static final int LAG = 41;
  static final int FLUSH_EVERY = 10;
  static final long VOLUME = 77;
  static final long CAPACITY = 8L << 20;
  static final int FILES = 2;
  static final long COMPACT_MIN_RECORDS = 200;

  @TempDir Path tmp;

  static BlockRef ref(int i) {
    return new BlockRef(VOLUME, 1, i, BlockKind.DATA);
  }

  static byte[] content(long seed, int i) {
    int len = 1 + new Random(seed * 1_000_003L + i).nextInt(96 * 1024);
    return bytes(len, seed ^ i);
  }

  /** The child process: runs the op sequence until killed. Args: directory, seed. */
  public static final class Child {
    public static void main(String[] args) {
      Path dir = Paths.get(args[0]);
      long seed = Long.parseLong(args[1]);
      FileBlockStore s = FileStoreOpener.open(dir, CAPACITY, FILES, COMPACT_MIN_RECORDS);
      for (int i = 0; i < 10_000_000; i++) {
        if (i % 2 == 0) {
          byte[] b = content(seed, i);
          s.put(ref(i), ByteBuffer.wrap(b), crc(b));
        } else if (i >= LAG) {
          s.delete(ref(i - LAG));
        }
        if ((i + 1) % FLUSH_EVERY == 0) {
          s.flush();
          System.out.println("FLUSHED " + (i + 1));
          System.out.flush();
        }
      }
    }
  }

  @Test
  void flushedOperationsSurviveKill9() throws Exception {
    long base = System.nanoTime();
    for (int round = 0; round < 3; round++) {
      long seed = base + round;
      System.out.println("FileBlockStoreCrashIT round " + round + " seed " + seed);
      Path dir = tmp.resolve("store-" + round);
      long durable = runAndKill(dir, seed, new Random(seed).nextInt(1200) + 200);
      System.out.println("  killed after FLUSHED " + durable);
      assertThat(durable).as("seed %d: child made progress", seed).isPositive();
      verify(dir, seed, durable);
    }
  }

  /** Starts the child, kills it {@code delayMs} after its first flush; returns ops durable. */
  private long runAndKill(Path dir, long seed, int delayMs) throws Exception {
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    Path stderr = tmp.resolve("child-" + seed + ".err");
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), Child.class.getName(), dir.toString(),
        Long.toString(seed))
        .redirectError(stderr.toFile())
        .start();
    AtomicLong lastFlushed = new AtomicLong();
    Object firstFlush = new Object();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (line.startsWith("FLUSHED ")) {
            lastFlushed.set(Long.parseLong(line.substring(8).trim()));
            synchronized (firstFlush) {
              firstFlush.notifyAll();
            }
          }
        }
      } catch (IOException ignored) {
        // the pipe closes when the child dies
      }
    }, "crash-child-reader");
    reader.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      synchronized (firstFlush) {
        while (lastFlushed.get() == 0 && p.isAlive() && System.nanoTime() < deadline) {
          firstFlush.wait(100);
        }
      }
      assertThat(p.isAlive()).as("child alive; stderr: %s", readQuietly(stderr)).isTrue();
      Thread.sleep(delayMs);
    } finally {
      p.destroyForcibly();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      reader.join(10_000);
    }
    return lastFlushed.get();
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }

  private void verify(Path dir, long seed, long durable) {
    FileBlockStore s = FileStoreOpener.open(dir, CAPACITY, FILES, COMPACT_MIN_RECORDS);
    try {
      Set<BlockRef> listed = new HashSet<>();
      s.forEach(VOLUME, listed::add);
      int present = 0;
      int corrupt = 0;
      for (BlockRef r : listed) {
        int i = r.sequence();
        assertThat(i % 2).as("seed %d: only even seqs are put: %s", seed, r).isZero();
        boolean durablePut = i < durable;
        try {
          ByteBuffer got = s.get(r);
          assertThat(got).as("seed %d: listed but unreadable %s", seed, r).isNotNull();
          assertThat(got).as("seed %d: bytes of %s", seed, r)
              .isEqualTo(ByteBuffer.wrap(content(seed, i)));
          present++;
        } catch (CorruptBlockException e) {
          assertThat(durablePut).as("seed %d: durable block corrupt: %s", seed, e).isFalse();
          corrupt++;
        }
        assertThat(i + LAG < durable).as("seed %d: durable delete of %s lost", seed, r)
            .isFalse();
      }
      for (int i = 0; i < durable; i += 2) {
        if (i + LAG >= durable + 2 * FLUSH_EVERY) { // its delete cannot have run yet
          assertThat(listed).as("seed %d: durable put of %d lost", seed, i).contains(ref(i));
        }
      }
      System.out.println("  recovered " + present + " blocks, " + corrupt + " unflushed corrupt");
      byte[] b = bytes(5000, seed);
      s.put(ref(1), ByteBuffer.wrap(b), crc(b));
      s.flush();
    } finally {
      s.close();
    }
    FileBlockStore again = FileStoreOpener.open(dir, CAPACITY, FILES, COMPACT_MIN_RECORDS);
    try {
      assertThat(again.get(ref(1))).isEqualTo(ByteBuffer.wrap(bytes(5000, seed)));
    } finally {
      again.close();
    }
  }
}
