package io.torus.examples.cli;

import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static io.torus.examples.cli.TorusProcesses.tool;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster run from the command line only, against a real etcd: {@code torus init}, three
 * {@code torus node} processes, {@code torus volume create}, a {@code torus nbd} export written
 * with nbdcopy and read back; {@code peer list} shows three peers up; a second {@code torus nbd}
 * for the volume is refused; after {@code kill -9} of one node {@code status} shows it down and
 * a fresh export still reads every byte.
 */
class ClusterCliIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  Path dir;

  private TorusProcesses torus;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (torus != null) {
      torus.close();
    }
  }

  @Test
  void threeNodeClusterFromTheCommandLine() throws Exception {
    requireTool("nbdcopy", "libnbd-bin");
    torus = new TorusProcesses(dir).env(NodeOptions.ENV, ETCD.endpoints().get(0));

    TorusProcesses.Result early = torus.run("node", "--data", dir.resolve("n0").toString(),
        "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort());
    assertThat(early.exit()).as(early.all()).isNotZero();
    assertThat(early.err()).contains("not initialised").contains("torus init");

    // --etcd given explicitly once; the other commands take it from TORUS_ETCD
    assertThat(torus.ok("init", "--etcd", ETCD.endpoints().get(0), "--replication", "2"))
        .contains("new volumes get 2 copies");
    TorusProcesses.Result again = torus.run("init");
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("already initialised").contains("--force");

    List<Process> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(torus.start("node ready", "node", "--data", dir.resolve("n" + i).toString(),
          "--capacity", "256MiB", "--listen", "127.0.0.1:" + freePort()));
    }
    String peers = torus.ok("peer", "list");
    assertThat(count(peers, " up ")).as(peers).isEqualTo(3);
    assertThat(torus.ok("ring", "show")).contains("3 members");

    assertThat(torus.ok("volume", "create", "vol1", "64MiB"))
        .contains("64 MiB, 16 KiB blocks, 2 copies");
    int nbdPort = freePort();
    Process nbd = torus.start("nbd ready", "nbd", "--listen", "127.0.0.1:" + nbdPort, "vol1");
    String uri = "nbd://127.0.0.1:" + nbdPort + "/vol1";

    byte[] data = new byte[16 << 20];
    new Random(42).nextBytes(data);
    Path src = dir.resolve("src.img");
    Files.write(src, data);
    tool("nbdcopy", "--flush", src.toString(), uri);
    Path back = dir.resolve("back.img");
    tool("nbdcopy", uri, back.toString());
    assertThat(prefix(back, data.length)).isEqualTo(data);

    TorusProcesses.Result second = torus.run("nbd", "--listen", "127.0.0.1:" + freePort(),
        "vol1");
    assertThat(second.exit()).as(second.all()).isNotZero();
    assertThat(second.err()).contains("volume 'vol1' is held by another writer");

    String status = torus.ok("status");
    assertThat(status).contains("peers: 3 up, 0 down");

    Matcher id = Pattern.compile("node (\\S+) serving peers").matcher(torus.log(nodes.get(2)));
    assertThat(id.find()).isTrue();
    String victim = id.group(1);
    TorusProcesses.kill9(nodes.get(2));
    String down = awaitStatus("1 down");
    assertThat(down).contains("peers: 2 up, 1 down").contains("DOWN " + victim)
        .contains("vol1");
    assertThat(torus.ok("peer", "list"))
        .containsPattern(Pattern.quote(victim) + "\\s+\\S+\\s+down");

    // The running export still reads; then a fresh process (empty cache) reads every byte
    // from the two peers left.
    Path again1 = dir.resolve("again1.img");
    tool("nbdcopy", uri, again1.toString());
    assertThat(prefix(again1, data.length)).isEqualTo(data);
    TorusProcesses.stop(nbd);
    int port2 = freePort();
    torus.start("nbd ready", "nbd", "--listen", "127.0.0.1:" + port2, "vol1");
    Path again2 = dir.resolve("again2.img");
    tool("nbdcopy", "nbd://127.0.0.1:" + port2 + "/vol1", again2.toString());
    assertThat(prefix(again2, data.length)).isEqualTo(data);

    TorusProcesses.stop(nodes.get(0)); // a clean stop: exit 0
  }

  private String awaitStatus(String text) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    String s = torus.ok("status");
    while (!s.contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(1000);
      s = torus.ok("status");
    }
    assertThat(s).as("status within 60 s").contains(text);
    return s;
  }

  private static int count(String text, String needle) {
    Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  private static byte[] prefix(Path file, int n) throws Exception {
    byte[] all = Files.readAllBytes(file);
    assertThat(all.length).isGreaterThanOrEqualTo(n);
    return java.util.Arrays.copyOf(all, n);
  }
}
