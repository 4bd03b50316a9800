package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Edge cases driven through libnbd's Python shell (nbdsh), one script per scenario. */
@Timeout(180)
class NbdShIT extends NbdITBase {

  private Tools.Result nbdsh(NbdServer s, String export, String script) throws Exception {
    Tools.require("nbdsh");
    return Tools.run(TOOL_TIMEOUT, Map.of("PATH", "/usr/bin:/bin"), null, "nbdsh",
        "--base-allocation", "-u", s.uri(export), "-c", script).ok();
  }

  @Test
  void unalignedReadWriteFuaFlushZeroTrimAndBlockStatus() throws Exception {
    BlockVolume v = volume("vol", 16L << 20);
    NbdServer s = serve(NbdExport.builder("vol", v).build());
    String script = String.join("\n",
        "import os, random",
        "random.seed(7)",
        "assert h.get_size() == 16 << 20",
        "assert h.get_structured_replies_negotiated()",
        "assert h.can_meta_context('base:allocation')",
        "data = random.randbytes(10000)",
        "h.pwrite(data, 12345)",
        "assert h.pread(10000, 12345) == data",
        "assert h.pread(3, 12344) == b'\\0' + data[:2]",
        "h.pwrite(b'x' * 777, 70001, nbd.CMD_FLAG_FUA)",
        "assert h.pread(777, 70001) == b'x' * 777",
        "h.flush()",
        "h.zero(5000, 12000)",
        "assert h.pread(5000, 12000) == bytes(5000)",
        "assert h.pread(345, 17000) == data[4655:5000]",
        "h.pwrite(b'\\xff' * 200000, 300000)",
        "h.zero(100000, 310000, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)",
        "assert h.pread(100000, 310000) == bytes(100000)",
        "assert h.pread(10, 410000) == b'\\xff' * 10",
        "try:",
        "    h.zero(65536, 1 << 20, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO)",
        "    raise SystemExit('fast zero with NO_HOLE succeeded')",
        "except nbd.Error as e:",
        "    assert e.errnum == 95, e",
        "h.zero(65536, 2 << 20, nbd.CMD_FLAG_FAST_ZERO)",
        "h.pwrite(b'\\x5a' * (4 << 20), 4 << 20)",
        "h.flush()",
        "h.trim(2 << 20, 5 << 20, nbd.CMD_FLAG_FUA)  # 2 MiB at 5 MiB",
        "ext = []",
        "def cb(ctx, off, e, err):",
        "    ext.append((ctx, off, list(e)))",
        "    return 0",
        "h.block_status(4 << 20, 4 << 20, cb)",
        "ctx, off, e = ext[0]",
        "assert ctx == 'base:allocation' and off == 4 << 20, ext",
        "print('EXTENTS', e)",
        "assert e == [1 << 20, 0, 2 << 20, 3, 1 << 20, 0], e",
        "assert h.pread(2 << 20, 5 << 20) == bytes(2 << 20)",
        "assert h.pread(1 << 20, 4 << 20) == b'\\x5a' * (1 << 20)",
        "assert h.pread(1 << 20, 7 << 20) == b'\\x5a' * (1 << 20)",
        "ext.clear()",
        "h.block_status(4 << 20, 4 << 20, cb, nbd.CMD_FLAG_REQ_ONE)",
        "assert ext[0][2] == [1 << 20, 0], ext",
        "print('OK')");
    Tools.Result r = nbdsh(s, "vol", script);
    assertThat(r.out()).contains("OK");
    ByteBuffer b = ByteBuffer.allocate(777);
    v.read(70001, b);
    assertThat(b.array()).containsOnly((byte) 'x');
  }

  @Test
  void requestsBeyondTheLimitsGetEinvalWithStrictModeOff() throws Exception {
    BlockVolume v = volume("vol", 1L << 20);
    NbdServer s = serve(NbdExport.builder("vol", v).minimumBlockSize(512).build());
    String script = String.join("\n",
        "h2 = nbd.NBD()",
        "h2.set_strict_mode(0)",
        "h2.add_meta_context('base:allocation')",
        "h2.connect_uri(h.get_uri())",
        "h = h2",
        "assert h.get_block_size(nbd.SIZE_MINIMUM) == 512",
        "def expect(errnum, f, *args):",
        "    try:",
        "        f(*args)",
        "    except nbd.Error as e:",
        "        assert e.errnum == errnum, (f.__name__, args, e)",
        "        return",
        "    raise SystemExit('no error from %s%r' % (f.__name__, args))",
        "size = h.get_size()",
        "expect(22, h.pread, 1024, size - 512)",
        "expect(22, h.pread, 512, size)",
        "expect(22, h.pwrite, b'a' * 1024, size - 512)",
        "expect(22, h.trim, 4096, size)",
        "expect(22, h.zero, 1024, size - 512)",
        "expect(22, h.pread, 512, (1 << 64) - 512)",
        "expect(22, h.pwrite, b'a' * 512, (1 << 63))",
        "expect(22, h.pread, 100, 0)",
        "expect(22, h.pread, 512, 3)",
        "expect(22, h.pread, 512, 0, nbd.CMD_FLAG_FUA)",
        "expect(22, h.flush, nbd.CMD_FLAG_FUA)",
        "expect(22, h.block_status, 512, size, lambda *a: 0)",
        "assert h.pread(512, size - 512) == bytes(512)",
        "h.pwrite(b'q' * 512, size - 512, nbd.CMD_FLAG_FUA)",
        "assert h.pread(512, size - 512) == b'q' * 512",
        "h.shutdown()",
        "print('OK')");
    Tools.Result r = nbdsh(s, "vol", script);
    assertThat(r.out()).contains("OK");
  }

  @Test
  void readOnlyExportRefusesWritesWithEperm() throws Exception {
    BlockVolume v = volume("vol", 1L << 20);
    v.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    NbdServer s = serve(NbdExport.builder("ro", v).readOnly(true).build());
    String script = String.join("\n",
        "assert h.is_read_only()",
        "assert h.pread(3, 0) == b'\\x01\\x02\\x03'",
        "h2 = nbd.NBD()",
        "h2.set_strict_mode(0)",
        "h2.connect_uri(h.get_uri())",
        "try:",
        "    h2.pwrite(b'zz', 0)",
        "    raise SystemExit('write to a read-only export succeeded')",
        "except nbd.Error as e:",
        "    assert e.errnum == 1, e",
        "h2.flush()",
        "print('OK')");
    assertThat(nbdsh(s, "ro", script).out()).contains("OK");
  }
}
