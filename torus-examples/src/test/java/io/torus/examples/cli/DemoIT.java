package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command as a new user runs it: {@code java -jar torus.jar demo} (three
 * peers in one process over the peer protocol), used by nbdinfo and qemu-io, stopped with
 * SIGTERM (exit 0), looked at with {@code torus status} while stopped, started again on the
 * same data, killed with SIGKILL after a flush and started once more: every flushed byte is
 * still there.
 */
class DemoIT {
  private static final String INSTALL =
      "apt-get install -y libnbd-bin qemu-utils (Debian packages)";

  @TempDir
  Path dir;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void cleanUp() throws InterruptedException {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void demoServesAnExportThatSurvivesARestart() throws Exception {
    tool("nbdinfo");
    tool("qemu-io");
    int port = freePort();
    String uri = "nbd://127.0.0.1:" + port + "/demo";

    int metricsPort = freePort();
    Process demo = startDemo(port, "--metrics", "127.0.0.1:" + metricsPort);
    String info = run("nbdinfo", "--json", uri);
    assertThat(info).contains("\"export-size\": 1073741824").contains("\"can_flush\": true")
        .contains("\"can_multi_conn\": true");
    String wrote = run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M",
        "-c", "write -P 0x3c 500M 2M", "-c", "flush", uri);
    assertThat(wrote).contains("wrote 2097152/2097152 bytes at offset 524288000");
    String scraped = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertThat(scraped).contains("torus_volume_bytes_total{mode=\"rw\",node=\"peer-0\","
        + "op=\"write\",volume=\"demo\"} 3145728.0").contains("torus_store_used_bytes")
        .contains("torus_cache_hit_ratio{node=\"peer-2\"}");
    stop(demo);

    String status = torus("status", "--data", dir.resolve("data").toString());
    assertThat(status).contains("peers: 0 up, 3 down").contains("DOWN peer-0")
        .contains("DOWN peer-1").contains("DOWN peer-2").contains("3 members");

    Process again = startDemo(port);
    String read = run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 1M",
        "-c", "read -P 0x3c 500M 2M", "-c", "read -P 0 1M 1M", uri);
    assertThat(read).contains("read 1048576/1048576 bytes at offset 0")
        .contains("read 2097152/2097152 bytes at offset 524288000")
        .doesNotContain("Pattern verification failed");
    run("qemu-io", "-f", "raw", "-c", "write -P 0x77 700M 3M", "-c", "flush", uri);
    again.destroyForcibly(); // SIGKILL: no clean shutdown, nothing but flushed data counts
    assertThat(again.waitFor(30, TimeUnit.SECONDS)).isTrue();

    Process third = startDemo(port);
    String after = run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 1M",
        "-c", "read -P 0x77 700M 3M", uri);
    assertThat(after).contains("read 3145728/3145728 bytes at offset 734003200")
        .doesNotContain("Pattern verification failed");
    stop(third);
  }

  private String torus(String... args) throws IOException, InterruptedException {
    Path jar = Path.of("target", "torus.jar").toAbsolutePath();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    return run(cmd.toArray(String[]::new));
  }

  private Process startDemo(int port, String... extra) throws Exception {
    Path jar = Path.of("target", "torus.jar").toAbsolutePath();
    assertThat(jar).as("built by mvn package").exists();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path log = Files.createTempFile(dir, "demo", ".log");
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-jar", jar.toString(), "demo",
        "--data", dir.resolve("data").toString(), "--nbd", "127.0.0.1:" + port));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    started.add(p);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!Files.readString(log).contains("Serving volume 'demo' at")) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        fail("demo did not start:\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
    return p;
  }

  private static void stop(Process demo) throws InterruptedException {
    demo.destroy(); // SIGTERM, like Ctrl-C
    assertThat(demo.waitFor(60, TimeUnit.SECONDS)).as("demo stops").isTrue();
    assertThat(demo.exitValue()).as("demo exit status").isZero();
  }

  private static void tool(String name) {
    if (!Files.isExecutable(Path.of("/usr/bin", name))) {
      fail(name + " is not installed; install it with: " + INSTALL);
    }
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        fail("timed out: " + String.join(" ", cmd));
      }
      out = p.getInputStream().readAllBytes();
    } finally {
      p.destroyForcibly();
    }
    String text = new String(out, StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("%s:%n%s", String.join(" ", cmd), text).isZero();
    return text;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
