package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import io.torus.testing.etcd.EtcdCluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Writers in child JVMs: a writer killed with SIGKILL loses its lock when its lease expires;
 * a writer paused with SIGSTOP past its lease can never commit over the writer that took the
 * volume meanwhile.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdWriterProcessIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();
  private static final int CHILD_TTL_SECONDS = 2;

  private Process child;
  private BufferedReader childOut;
  private EtcdMetadataService meta;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (child != null) {
      if (child.isAlive()) {
        signal(child, "CONT");
      }
      child.destroyForcibly();
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
    if (meta != null) {
      meta.close();
    }
  }

  private String prefix() {
    return "/writer/t" + TEST.incrementAndGet();
  }

  private EtcdMetadataService open(String prefix) {
    return EtcdMetadataService.builder().endpoints(ETCD.endpoints()).rootPrefix(prefix)
        .leaseTtl(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(3)).build();
  }

  /** Starts a child writer that locks {@code volumeId}; returns its epoch. */
  private long startChild(String prefix, long volumeId) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    child = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
        LockHolderMain.class.getName(), ETCD.endpoint(0), prefix, Long.toString(volumeId),
        "child-writer", Integer.toString(CHILD_TTL_SECONDS))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    childOut = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8));
    String line = readLine();
    assertThat(line).startsWith("LOCKED ");
    return Long.parseLong(line.substring(7));
  }

  private String readLine() {
    BufferedReader r = childOut;
    CompletableFuture<String> f = CompletableFuture.supplyAsync(() -> {
      try {
        return r.readLine();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    return f.orTimeout(30, TimeUnit.SECONDS).join();
  }

  private void send(String command) throws IOException {
    Writer w = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
    w.write(command + "\n");
    w.flush();
  }

  @Test
  void lockOfAKilledWriterIsFreedWhenItsLeaseExpires() throws Exception {
    String prefix = prefix();
    meta = open(prefix);
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("vol", 1 << 20).build());
    long childEpoch = startChild(prefix, v.id());
    assertThatThrownBy(() -> meta.lockVolume(v.id(), "parent"))
        .isInstanceOf(VolumeLockedException.class).hasMessageContaining("child-writer");

    child.destroyForcibly();
    assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    long killed = System.nanoTime();
    VolumeLock lock = null;
    while (lock == null) {
      try {
        lock = meta.lockVolume(v.id(), "parent");
      } catch (VolumeLockedException e) {
        assertThat(System.nanoTime() - killed)
            .as("lock still held long after the holder's lease should have expired")
            .isLessThan(TimeUnit.SECONDS.toNanos(CHILD_TTL_SECONDS + 8));
        Thread.sleep(100);
      }
    }
    assertThat(lock.epoch()).isGreaterThan(childEpoch);
    // the child reserved 1..4097 when it locked: the new writer starts above that
    assertThat(lock.head().generation()).isEqualTo(2 + Head.RESERVATION);
  }

  @Test
  void pausedWriterCanNeverCommitOverTheNextWriter() throws Exception {
    String prefix = prefix();
    meta = open(prefix);
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("vol", 1 << 20).build());
    startChild(prefix, v.id());
    send("COMMIT");
    assertThat(readLine()).startsWith("COMMITTED ");
    Head afterChild = meta.head(v.id());
    assertThat(afterChild.root().sequence()).isEqualTo(99);

    signal(child, "STOP");
    long paused = System.nanoTime();
    VolumeLock lock = null;
    while (lock == null) {
      try {
        lock = meta.lockVolume(v.id(), "parent");
      } catch (VolumeLockedException e) {
        assertThat(System.nanoTime() - paused)
            .isLessThan(TimeUnit.SECONDS.toNanos(CHILD_TTL_SECONDS + 8));
        Thread.sleep(100);
      }
    }
    Head mine = meta.commitHead(lock, lock.head(),
        new BlockRef(v.id(), lock.head().generation(), 1, BlockKind.MAP),
        lock.head().generation() + 1);

    signal(child, "CONT");
    send("COMMIT");
    assertThat(readLine()).isEqualTo("FAILED io.torus.LeaseLostException");
    assertThat(meta.head(v.id())).isEqualTo(mine);
    assertThat(meta.head(v.id()).root().sequence()).isEqualTo(1);
    send("EXIT");
    assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
  }

  private static void signal(Process p, String sig) {
    try {
      Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start();
      assertThat(k.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
