package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** qemu-img and qemu-io (QEMU's own NBD client) against an export. */
@Timeout(240)
class QemuIT extends NbdITBase {
  @TempDir
  Path tmp;

  @Test
  void imgInfoMapConvertCompare() throws Exception {
    NbdServer s = serve("vol", 32L << 20);
    String uri = s.uri("vol");
    String info = Tools.run(TOOL_TIMEOUT, "qemu-img", "info", "--output=json", uri).ok().out();
    assertThat(info).contains("\"virtual-size\": " + (32L << 20));
    // A raw image with data at 1 MiB and 20 MiB, holes elsewhere.
    Path img = tmp.resolve("src.raw");
    byte[] a = new byte[1 << 20];
    byte[] b = new byte[3 << 20];
    new Random(42).nextBytes(a);
    new Random(43).nextBytes(b);
    try (var ch = java.nio.channels.FileChannel.open(img,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(a), 1L << 20);
      ch.write(java.nio.ByteBuffer.wrap(b), 20L << 20);
      ch.truncate(32L << 20);
      ch.write(java.nio.ByteBuffer.allocate(1), (32L << 20) - 1);
    }
    Tools.run(TOOL_TIMEOUT, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
        "--target-is-zero", img.toString(), uri).ok();
    Tools.run(TOOL_TIMEOUT, "qemu-img", "compare", "-f", "raw", "-F", "raw",
        img.toString(), uri).ok();
    String map = Tools.run(TOOL_TIMEOUT, "qemu-img", "map", "--output=json", "-f", "raw",
        uri).ok().out();
    // Data where written, holes (data: false, zero: true) before, between and after.
    assertThat(map).contains("{ \"start\": 0, \"length\": 1048576, \"depth\": 0,"
        + " \"present\": true, \"zero\": true, \"data\": false");
    assertThat(map).contains("\"start\": 1048576, \"length\": 1048576, \"depth\": 0,"
        + " \"present\": true, \"zero\": false, \"data\": true");
    assertThat(map).contains("\"start\": 20971520, \"length\": 3145728, \"depth\": 0,"
        + " \"present\": true, \"zero\": false, \"data\": true");
    Path back = tmp.resolve("back.raw");
    Tools.run(TOOL_TIMEOUT, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri,
        back.toString()).ok();
    assertThat(Files.mismatch(img, back)).isEqualTo(-1L);
    // A changed byte makes compare fail.
    Tools.run(TOOL_TIMEOUT, "qemu-io", "-f", "raw", "-c", "write -P 0x11 5M 512", uri).ok();
    assertThat(Tools.run(TOOL_TIMEOUT, "qemu-img", "compare", "-f", "raw", "-F", "raw",
        img.toString(), uri).exit()).isEqualTo(1);
  }

  @Test
  void ioPatternsAioVectoredZeroDiscardFlush() throws Exception {
    NbdServer s = serve("vol", 64L << 20);
    String uri = s.uri("vol");
    String out = Tools.run(TOOL_TIMEOUT, "qemu-io", "-f", "raw",
        "-c", "write -P 0xab 0 1M",
        "-c", "write -P 0xcd -f 1M 512k",
        "-c", "aio_write -P 0x01 2M 64k",
        "-c", "aio_write -P 0x02 3M 4k",
        "-c", "aio_write -P 0x03 5000 3000",
        "-c", "aio_flush",
        "-c", "writev -P 0x77 8M 4k 8k 512",
        "-c", "write -z 9M 2M",
        "-c", "discard 12M 1M",
        "-c", "flush",
        uri).ok().out();
    assertThat(out).doesNotContain("error", "failed");
    String verify = Tools.run(TOOL_TIMEOUT, "qemu-io", "-f", "raw",
        "-c", "read -P 0xab 0 5000",
        "-c", "read -P 0x03 5000 3000",
        "-c", "read -P 0xab 8000 1040576",
        "-c", "read -P 0xcd 1M 512k",
        "-c", "aio_read -P 0x01 2M 64k",
        "-c", "aio_read -P 0x02 3M 4k",
        "-c", "aio_flush",
        "-c", "readv -P 0x77 8M 4k 8k 512",
        "-c", "read -P 0 9M 2M",
        "-c", "read -P 0 12M 1M",
        uri).ok().out();
    assertThat(verify).doesNotContain("Pattern verification failed", "error");
    assertThat(verify.lines().filter(l -> l.matches("read \\d+/\\d+ bytes at offset \\d+")))
        .as(verify).hasSize(9);
  }
}
