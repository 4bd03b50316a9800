package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real ext4 file system on an export, without the kernel nbd module: nbdfuse shows the
 * export as a file, a loop device turns it into a block device. Needs root, /dev/fuse and
 * loop devices; without them the test fails and says what is missing.
 */
@Timeout(300)
class Ext4IT extends NbdITBase {
  private static final Duration T = Duration.ofSeconds(60);

  @TempDir
  Path tmp;

  @Test
  void mkfsWriteUnmountFsckRemount() throws Exception {
    if (!Files.exists(Path.of("/dev/fuse")) || !Files.exists(Path.of("/dev/loop-control"))) {
      fail("ext4 test needs /dev/fuse and loop devices (run as root with fuse3 installed: "
          + Tools.INSTALL + ")");
    }
    NbdServer s = serve("vol", 256L << 20);
    Path fuseDir = Files.createDirectory(tmp.resolve("fuse"));
    Path mnt = Files.createDirectory(tmp.resolve("mnt"));
    Path image = fuseDir.resolve("nbd");
    Process fuse = Tools.start(Map.of(), null, "nbdfuse", image.toString(), s.uri("vol"));
    String loop = null;
    boolean mounted = false;
    try {
      long deadline = System.nanoTime() + T.toNanos();
      while (!Files.exists(image) && System.nanoTime() < deadline && fuse.isAlive()) {
        Thread.sleep(20);
      }
      assertThat(Files.exists(image)).as("nbdfuse file; stderr: "
          + Tools.read(Tools.errFile(fuse))).isTrue();
      loop = Tools.run(T, "losetup", "--find", "--show", image.toString()).ok().out().trim();
      Tools.run(T, "mkfs.ext4", "-q", "-F", loop).ok();
      Tools.run(T, "mount", loop, mnt.toString()).ok();
      mounted = true;
      Random rnd = new Random(1234);
      byte[][] contents = new byte[20][];
      for (int i = 0; i < contents.length; i++) {
        contents[i] = new byte[rnd.nextInt(3 << 20) + 1];
        rnd.nextBytes(contents[i]);
        Files.write(mnt.resolve("f" + i), contents[i]);
      }
      Tools.run(T, "sync").ok();
      Tools.run(T, "umount", mnt.toString()).ok();
      mounted = false;
      // Exit 0 with -n -f: every pass ran and found nothing to fix.
      Tools.Result fsck = Tools.run(T, "fsck.ext4", "-n", "-f", loop).ok();
      assertThat(fsck.out()).contains("Pass 5").doesNotContain("Fix?", "UNEXPECTED");
      Tools.run(T, "mount", loop, mnt.toString()).ok();
      mounted = true;
      for (int i = 0; i < contents.length; i++) {
        assertThat(Files.readAllBytes(mnt.resolve("f" + i))).as("file f" + i)
            .isEqualTo(contents[i]);
      }
    } finally {
      if (mounted) {
        Tools.run(T, "umount", mnt.toString());
      }
      if (loop != null) {
        Tools.run(T, "losetup", "-d", loop);
      }
      Tools.run(T, "fusermount3", "-u", fuseDir.toString());
      fuse.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
      Tools.kill(fuse);
    }
  }
}
