package io.torus.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class NbdExportExampleIT {

  @Test
  void nbdinfoSeesTheExport() throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/nbdinfo"))) {
      fail("nbdinfo is not installed; install it with: apt-get install -y libnbd-bin");
    }
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (NbdExportExample example = new NbdExportExample(port)) {
      Process p = new ProcessBuilder("nbdinfo", "--size", example.uri())
          .redirectErrorStream(true).start();
      try {
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out.trim()).isEqualTo(Long.toString(256L << 20));
      } finally {
        p.destroyForcibly();
      }
    }
  }
}
