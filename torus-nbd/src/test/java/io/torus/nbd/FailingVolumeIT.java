package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.Torus;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A store whose flush barrier fails makes the volume's flush fail: a real client must see
 * EIO for FLUSH and for FUA writes (never success), and recover once the store heals.
 */
@Timeout(120)
class FailingVolumeIT extends NbdITBase {
  private final FaultyBlockStore store = new FaultyBlockStore();

  @Override
  Torus newNode() {
    return Torus.builder().addStore(store).build();
  }

  @Test
  void flushAndFuaFailWithEioThenRecover() throws Exception {
    var v = volume("vol", 8L << 20);
    NbdServer s = serve(NbdExport.builder("vol", v).build());
    String script = String.join("\n",
        "import sys",
        "h.pwrite(b'a' * 65536, 0)",
        "h.flush()",
        "print('READY', flush=True)",
        "sys.stdin.readline()",
        "def expect_eio(f, *args):",
        "    try:",
        "        f(*args)",
        "    except nbd.Error as e:",
        "        assert e.errnum == 5, e",
        "        return",
        "    raise SystemExit('no error from %s' % f.__name__)",
        "h.pwrite(b'b' * 65536, 65536)",
        "expect_eio(h.flush)",
        "expect_eio(h.pwrite, b'c' * 4096, 1 << 20, nbd.CMD_FLAG_FUA)",
        "expect_eio(h.trim, 65536, 2 << 20, nbd.CMD_FLAG_FUA)",
        "expect_eio(h.zero, 65536, 3 << 20, nbd.CMD_FLAG_FUA)",
        "assert h.pread(65536, 65536) == b'b' * 65536",
        "print('FAILED-AS-EXPECTED', flush=True)",
        "sys.stdin.readline()",
        "h.flush()",
        "assert h.pread(4096, 1 << 20) == b'c' * 4096",
        "print('RECOVERED', flush=True)");
    Tools.require("nbdsh");
    Process p = Tools.start(Map.of("PATH", "/usr/bin:/bin"), Tools.PIPE, "nbdsh", "-u",
        s.uri("vol"), "-c", script);
    try (var stdin = p.getOutputStream()) {
      awaitLine(p, "READY");
      store.failFlush(true);
      stdin.write('\n');
      stdin.flush();
      awaitLine(p, "FAILED-AS-EXPECTED");
      store.failFlush(false);
      stdin.write('\n');
      stdin.flush();
      awaitLine(p, "RECOVERED");
      assertThat(p.waitFor()).isZero();
    } finally {
      Tools.kill(p);
    }
    ByteBuffer b = ByteBuffer.allocate(4096);
    v.read(1 << 20, b);
    assertThat(b.array()).containsOnly((byte) 'c');
  }

  private static void awaitLine(Process p, String marker) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (Tools.read(Tools.outFile(p)).contains(marker)) {
        return;
      }
      if (!p.isAlive()) {
        break;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no '" + marker + "' from nbdsh; stdout:\n"
        + Tools.read(Tools.outFile(p)) + "\nstderr:\n" + Tools.read(Tools.errFile(p)));
  }
}
