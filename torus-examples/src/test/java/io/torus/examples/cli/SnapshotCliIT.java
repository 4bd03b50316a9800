package io.torus.examples.cli;

import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static io.torus.examples.cli.TorusProcesses.tool;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots, clones, export and import from the command line, on a local node
 * ({@code --data}; the same commands work with {@code --etcd}): a raw export then import is
 * byte-identical and stays sparse; an incremental diff applied to a copy at SNAP1 makes it
 * identical to SNAP2 (through a file and through a pipe); a diff applied to the wrong base is
 * refused and changes nothing.
 */
class SnapshotCliIT {
  @TempDir
  Path dir;

  private TorusProcesses torus;
  private String data;

  @BeforeEach
  void setUp() throws Exception {
    torus = new TorusProcesses(dir);
    data = dir.resolve("node").toString();
    torus.ok("init", "--data", data, "--stores", "2", "--capacity", "512MiB");
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    torus.close();
  }

  @Test
  void rawExportImportIsByteIdenticalAndSparse() throws Exception {
    Path img = dir.resolve("in.img");
    Random rnd = new Random(7);
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(64L << 20); // 64 MiB with data at three places, holes elsewhere
      for (long at : new long[] {0, 5_000_000, (64L << 20) - 100_000}) {
        byte[] b = new byte[100_000];
        rnd.nextBytes(b);
        f.seek(at);
        f.write(b);
      }
    }
    assertThat(torus.ok("volume", "import", "--data", data, img.toString(), "disk"))
        .isEmpty();
    assertThat(torus.ok("volume", "info", "--data", data, "disk"))
        .contains("64 MiB (67108864 bytes)");
    Path out = dir.resolve("out.img");
    torus.ok("volume", "export", "--data", data, "disk", out.toString());
    assertThat(Files.mismatch(img, out)).isEqualTo(-1);
    assertThat(allocatedBytes(out)).as("holes stay holes").isLessThan(8L << 20);

    // standard output: the same bytes, holes written as zeros
    assertThat(stdoutBytes("volume", "export", "--data", data, "disk", "-"))
        .isEqualTo(Files.readAllBytes(img));
  }

  @Test
  void incrementalDiffTurnsACopyAtSnap1IntoSnap2AndRefusesAWrongBase() throws Exception {
    requireTool("qemu-io", "qemu-utils");
    torus.ok("volume", "create", "--data", data, "vm", "32MiB");
    write("vm", "write -P 0x11 0 4M", "write -P 0x22 10M 3M");
    torus.ok("snapshot", "create", "--data", data, "vm@s1");
    write("vm", "write -P 0x33 1M 1M", "write -z 10M 1M", "write -P 0x44 31M 64k");
    torus.ok("snapshot", "create", "--data", data, "vm@s2");
    write("vm", "write -P 0x55 0 64k"); // after s2: must not be in the diff
    assertThat(torus.ok("snapshot", "list", "--data", data, "vm"))
        .contains("vm@s1").contains("vm@s2");

    // a copy at s1: a raw export imported as a new volume, snapshotted as s1
    Path s1 = dir.resolve("s1.img");
    torus.ok("volume", "export", "--data", data, "vm@s1", s1.toString());
    torus.ok("volume", "import", "--data", data, s1.toString(), "copy");
    torus.ok("snapshot", "create", "--data", data, "copy@s1");

    Path diff = dir.resolve("s1-s2.tdif");
    torus.ok("volume", "export", "--data", data, "--since", "s1", "vm@s2", diff.toString());
    long changedData = (1L << 20) + (64 << 10); // 0x33 and 0x44 ranges; zeros cost no data
    assertThat(Files.size(diff)).as("only the changed ranges travel")
        .isBetween(changedData, changedData + 4096);
    assertThat(torus.ok("volume", "import", "--data", data, "--diff", diff.toString(), "copy"))
        .contains("it is now at snapshot copy@s2");
    assertThat(exportBytes("copy")).isEqualTo(exportBytes("vm@s2"));
    assertThat(torus.ok("snapshot", "list", "--data", data, "copy")).contains("copy@s2")
        .doesNotContain("pre-diff");

    // the copy is at s2 now: the same diff is refused and nothing changes
    TorusProcesses.Result wrong = torus.run("volume", "import", "--data", data, "--diff",
        diff.toString(), "copy");
    assertThat(wrong.exit()).isNotZero();
    assertThat(wrong.err()).contains("refused").contains("base snapshot 's1'");
    assertThat(exportBytes("copy")).isEqualTo(exportBytes("vm@s2"));

    // a clone at s1 takes the diff through a pipe (export to -, import from -)
    torus.ok("volume", "clone", "--data", data, "vm@s1", "clone1");
    Path pipedDiff = dir.resolve("piped.tdif");
    Files.write(pipedDiff, stdoutBytes("volume", "export", "--data", data, "--since", "s1",
        "vm@s2", "-"));
    assertThat(Files.mismatch(pipedDiff, diff)).as("same diff through a pipe").isEqualTo(-1);
    assertThat(torusWithStdin(pipedDiff, "volume", "import", "--data", data, "--diff", "-",
        "clone1")).isZero();
    assertThat(exportBytes("clone1")).isEqualTo(exportBytes("vm@s2"));

    // restore takes vm back to s1; deleting a snapshot removes it from the list
    torus.ok("snapshot", "restore", "--data", data, "vm@s1");
    assertThat(exportBytes("vm")).isEqualTo(Files.readAllBytes(s1));
    torus.ok("snapshot", "delete", "--data", data, "vm@s2");
    assertThat(torus.ok("snapshot", "list", "--data", data, "vm")).contains("vm@s1")
        .doesNotContain("vm@s2");
  }

  private void write(String volume, String... qemuCommands) throws Exception {
    int port = freePort();
    Process nbd = torus.start("nbd ready", "nbd", "--data", data, "--listen",
        "127.0.0.1:" + port, volume);
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f",
        "raw"));
    for (String c : qemuCommands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add("-c");
    cmd.add("flush");
    cmd.add("nbd://127.0.0.1:" + port + "/" + volume);
    tool(cmd.toArray(String[]::new));
    TorusProcesses.stop(nbd);
  }

  private byte[] exportBytes(String ref) throws Exception {
    Path f = Files.createTempFile(dir, "export", ".img");
    torus.ok("volume", "export", "--data", data, ref, f.toString());
    return Files.readAllBytes(f);
  }

  private byte[] stdoutBytes(String... args) throws Exception {
    Path f = Files.createTempFile(dir, "stdout", ".bin");
    Process p = torus.startRaw(f, null, args);
    assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return Files.readAllBytes(f);
  }

  private int torusWithStdin(Path in, String... args) throws Exception {
    Path f = Files.createTempFile(dir, "stdout", ".txt");
    Process p = torus.startRaw(f, in, args);
    assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  private static long allocatedBytes(Path file) throws Exception {
    String du = tool("du", "--block-size=1", file.toString());
    return Long.parseLong(du.split("\\s+")[0]);
  }
}
