package io.torus.benchmarks.fault;

import io.torus.BlockVolume;
import io.torus.fault.WriterMain;
import io.torus.nbd.NbdServer;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * The fault suite's NBD writer: opens the volume for writing like {@link WriterMain} (same
 * arguments), exports it with {@link NbdServer} on loopback (what {@code torus nbd} runs), and
 * hands its standard input and output to a libnbd client ({@code nbd_writer.py}, Python
 * binding of libnbd) that runs the suite's commands as NBD WRITE (with FUA when asked) and
 * FLUSH requests. Pausing this JVM pauses the server; killing it drops the client's
 * connection, so every later request fails.
 */
public final class NbdWriterMain {
  private NbdWriterMain() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    BlockVolume v = WriterMain.openOrHalt(args, out);
    Path script = Files.createTempFile("torus-nbd-writer-", ".py");
    try (InputStream in = NbdWriterMain.class.getResourceAsStream("nbd_writer.py")) {
      Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
    }
    NbdServer server = NbdServer.builder().bindAddress("127.0.0.1").port(0)
        .addExport(v.name(), v).start();
    Process client = new ProcessBuilder("/usr/bin/python3", script.toString(),
        server.uri(v.name()), Long.toString(v.id()), Integer.toString(v.blockSize()), args[3])
        .inheritIO().start();
    int rc = client.waitFor() == 0 ? 0 : 4;
    Files.deleteIfExists(script);
    client.destroyForcibly();
    client.waitFor(5, TimeUnit.SECONDS);
    Runtime.getRuntime().halt(rc);
  }
}
