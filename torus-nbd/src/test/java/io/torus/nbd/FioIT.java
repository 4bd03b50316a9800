package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** fio's nbd engine writes random 4 KiB blocks at queue depth 32 and verifies them. */
@Timeout(240)
class FioIT extends NbdITBase {

  @Test
  void randomWritesVerifyWithCrc32c() throws Exception {
    NbdServer s = serve("vol", 128L << 20);
    Tools.Result r = Tools.run(TOOL_TIMEOUT, "fio", "--name=verify", "--ioengine=nbd",
        "--uri=" + s.uri("vol"), "--rw=randwrite", "--bs=4k", "--iodepth=32",
        "--size=64m", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
        "--fsync=256", "--verify_state_save=0", "--randseed=" + System.nanoTime() % 100000,
        "--output-format=json").ok();
    assertThat(r.out()).contains("\"error\" : 0");
    assertThat(r.out()).doesNotContain("verify failed", "bad magic");
    // 64 MiB written, and the verify pass read it all back.
    assertThat(r.out()).contains("\"io_bytes\" : 67108864");
  }
}
