package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.Torus;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A volume whose flushes fail: every EIO a real client receives is logged at WARN with its
 * cause, and a burst of failures gives one line per second per export, the next one counting
 * those suppressed. The log is captured from System.err, where slf4j-simple writes.
 */
@Timeout(60)
class ErrorLogIT extends NbdITBase {
  private final FaultyBlockStore store = new FaultyBlockStore();

  @Override
  Torus newNode() {
    return Torus.builder().addStore(store).build();
  }

  @Test
  void eioRepliesAreLoggedAtWarnRateLimited() throws Exception {
    NbdServer s = serve(NbdExport.builder("failing", volume("failing", 8L << 20)).build());
    store.failFlush(true);
    String script = String.join("\n",
        "import time",
        "def flush_fails():",
        "    h.pwrite(b'x' * 4096, 0)",
        "    try:",
        "        h.flush()",
        "    except nbd.Error as e:",
        "        assert e.errnum == 5, e",
        "        return",
        "    raise SystemExit('flush did not fail')",
        "for i in range(50):",
        "    flush_fails()",
        "time.sleep(1.2)",
        "flush_fails()",
        "print('DONE')");
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.err;
    System.setErr(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
    Tools.Result r;
    try {
      r = Tools.nbdsh(TOOL_TIMEOUT, s.uri("failing"), script);
    } finally {
      System.setErr(original);
      store.failFlush(false);
    }
    r.ok();
    assertThat(r.out()).contains("DONE");
    List<String> log = Arrays.asList(captured.toString(StandardCharsets.UTF_8).split("\n"));
    List<String> warnings = log.stream()
        .filter(l -> l.contains("WARN") && l.contains("NBD export 'failing': FLUSH"))
        .toList();
    System.out.println("captured error lines:\n" + String.join("\n", warnings));
    assertThat(warnings).as("one line per second for 51 failures in ~1.5 s").hasSizeBetween(2, 3);
    assertThat(warnings.get(0)).contains("answered EIO").contains("injected flush failure");
    assertThat(log).as("the cause's stack trace is logged")
        .anyMatch(l -> l.contains("TorusException"));
    assertThat(warnings.get(warnings.size() - 1))
        .containsPattern("\\(\\d+ similar lines suppressed\\)");
  }

  /** Copies everything written to two streams. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      synchronized (b) {
        b.write(c);
      }
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      synchronized (b) {
        b.write(buf, off, len);
      }
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
    }
  }
}
