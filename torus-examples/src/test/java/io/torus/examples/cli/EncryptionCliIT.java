package io.torus.examples.cli;

import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static io.torus.examples.cli.TorusProcesses.tool;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encrypted volumes from the command line on a local node: {@code key generate}, {@code volume
 * create/import --encrypt} with {@code --key-file} or {@code --key-env}, an NBD export read by
 * nbdcopy, {@code volume rekey}, and the errors without the key. The stores never hold the
 * plaintext (the same search finds it in a volume that is not encrypted).
 */
class EncryptionCliIT {
  private static final byte[] MARKER =
      "encrypted-at-rest marker 0123456789".getBytes(StandardCharsets.US_ASCII);

  @TempDir
  Path dir;

  private TorusProcesses torus;
  private String data;

  @BeforeEach
  void setUp() throws Exception {
    torus = new TorusProcesses(dir);
    data = dir.resolve("node").toString();
    torus.ok("init", "--data", data, "--stores", "1", "--capacity", "512MiB");
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    torus.close();
  }

  private Path image(long size) throws Exception {
    Path img = dir.resolve("in.img");
    byte[] b = new byte[(int) size];
    for (int i = 0; i < b.length; i++) {
      b[i] = MARKER[i % MARKER.length];
    }
    Files.write(img, b);
    return img;
  }

  private boolean storesHoldMarker() throws Exception {
    try (Stream<Path> files = Files.walk(Path.of(data))) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().startsWith("data-"))::iterator) {
        String grep = tool("sh", "-c", "grep -c -a -F '" + new String(MARKER,
            StandardCharsets.US_ASCII) + "' '" + f + "' || true");
        if (!grep.trim().equals("0")) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void encryptedVolumesKeepOnlyCiphertextAndNeedTheirKey() throws Exception {
    requireTool("nbdcopy", "libnbd-bin");
    Path kek = dir.resolve("kek");
    assertThat(torus.ok("key", "generate", "--out", kek.toString())).contains("wrote key static:");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(kek))).isEqualTo("rw-------");
    TorusProcesses.Result again = torus.run("key", "generate", "--out", kek.toString());
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("never overwritten");

    TorusProcesses.Result noKey = torus.run("volume", "create", "--data", data, "--encrypt",
        "x", "1MiB");
    assertThat(noKey.exit()).isNotZero();
    assertThat(noKey.err()).contains("--encrypt needs a key-encryption key");

    Path img = image(8L << 20);
    torus.env("MY_KEK", Files.readString(kek).strip());
    torus.ok("volume", "import", "--data", data, "--encrypt", "--key-env", "MY_KEK",
        img.toString(), "enc");
    assertThat(torus.ok("volume", "info", "--data", data, "--key-file", kek.toString(), "enc"))
        .contains("encryption:  aes-256-gcm, key static:");
    assertThat(storesHoldMarker()).as("plaintext in the store").isFalse();

    // exported over NBD by a node given the key file (the same key as the variable)
    int port = freePort();
    Process nbd = torus.start("nbd ready", "nbd", "--data", data, "--key-file", kek.toString(),
        "--listen", "127.0.0.1:" + port, "enc");
    Path back = dir.resolve("back.img");
    tool("nbdcopy", "nbd://127.0.0.1:" + port + "/enc", back.toString());
    TorusProcesses.stop(nbd);
    assertThat(Files.mismatch(img, back)).isEqualTo(-1);

    // without the key: a clear error, nothing exported
    TorusProcesses.Result denied = torus.run("volume", "export", "--data", data, "enc",
        dir.resolve("denied.img").toString());
    assertThat(denied.exit()).isNotZero();
    assertThat(denied.err()).contains("volume 'enc' is encrypted with key static:");

    // rekey: the old key no longer opens it, the new one does; the data is unchanged
    Path kek2 = dir.resolve("kek2");
    torus.ok("key", "generate", "--out", kek2.toString());
    assertThat(torus.ok("volume", "rekey", "--data", data, "--key-file", kek.toString(),
        "--new-key-file", kek2.toString(), "enc")).contains("data keys rewrapped");
    assertThat(torus.run("volume", "export", "--data", data, "--key-file", kek.toString(), "enc",
        dir.resolve("old.img").toString()).err()).contains("is encrypted with key");
    Path out = dir.resolve("out.img");
    torus.ok("volume", "export", "--data", data, "--key-file", kek2.toString(), "enc",
        out.toString());
    assertThat(Files.mismatch(img, out)).isEqualTo(-1);

    // the same search finds the marker once a plain volume holds it
    torus.ok("volume", "import", "--data", data, img.toString(), "plain");
    assertThat(storesHoldMarker()).isTrue();
  }
}
