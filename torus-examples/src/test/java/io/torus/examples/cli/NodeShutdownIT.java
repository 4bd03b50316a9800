package io.torus.examples.cli;

import static io.torus.examples.cli.TorusProcesses.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.etcd.EtcdCluster;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code torus node} whose etcd is gone still stops promptly on SIGTERM, and says what it
 * could not clean up (its lease, which then expires by itself).
 */
class NodeShutdownIT {
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
  void aNodeStopsWithinSecondsOfSigtermWhenEtcdIsGone() throws Exception {
    torus = new TorusProcesses(dir).env(NodeOptions.ENV, ETCD.endpoints().get(0));
    torus.ok("init", "--replication", "1");
    Process node = torus.start("node ready", "node", "--data", dir.resolve("n0").toString(),
        "--capacity", "64MiB", "--listen", "127.0.0.1:" + freePort());
    ETCD.kill(0);
    Thread.sleep(1000); // let the node notice: its background work is now waiting on etcd
    long start = System.nanoTime();
    node.destroy(); // SIGTERM
    boolean stopped = node.waitFor(15, TimeUnit.SECONDS);
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(stopped).as("stopped within 15 s of SIGTERM; log:%n%s", torus.log(node))
        .isTrue();
    assertThat(millis).as("shutdown took %d ms", millis).isLessThan(15_000);
    assertThat(torus.log(node)).contains("expires by itself");
  }
}
