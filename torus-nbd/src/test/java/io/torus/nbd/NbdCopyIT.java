package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** nbdcopy (libnbd) copies a random 256 MiB file in and out over several connections. */
@Timeout(300)
class NbdCopyIT extends NbdITBase {
  @TempDir
  Path tmp;

  @Test
  void randomFileRoundTripsByteIdenticalWithMultiConn() throws Exception {
    long size = 256L << 20;
    NbdServer s = serve("vol", size);
    String uri = s.uri("vol");
    assertThat(Tools.run(TOOL_TIMEOUT, "nbdinfo", "--can", "multi-conn", uri).exit())
        .as("CAN_MULTI_CONN advertised").isZero();
    Path in = tmp.resolve("in.bin");
    long seed = System.nanoTime();
    System.out.println("nbdcopy seed " + seed);
    Random rnd = new Random(seed);
    byte[] chunk = new byte[1 << 20];
    try (OutputStream os = Files.newOutputStream(in)) {
      for (int i = 0; i < 256; i++) {
        if (i % 16 == 5) {
          java.util.Arrays.fill(chunk, (byte) 0); // some zero runs for zero detection
        } else {
          rnd.nextBytes(chunk);
        }
        os.write(chunk);
      }
    }
    Tools.run(TOOL_TIMEOUT, "nbdcopy", "--connections=4", "--requests=32", "--flush",
        in.toString(), uri).ok();
    Path out = tmp.resolve("out.bin");
    Tools.run(TOOL_TIMEOUT, "nbdcopy", "--connections=4", uri, out.toString()).ok();
    assertThat(Files.size(out)).isEqualTo(size);
    assertThat(Files.mismatch(in, out)).as("first differing byte").isEqualTo(-1L);
    Path all = tmp.resolve("all.bin");
    Tools.run(TOOL_TIMEOUT, "nbdcopy", "--no-extents", "--connections=4", uri,
        all.toString()).ok();
    assertThat(Files.mismatch(in, all)).as("first differing byte").isEqualTo(-1L);
  }
}
