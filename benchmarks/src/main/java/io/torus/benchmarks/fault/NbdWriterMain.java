package io.torus.benchmarks.fault;

import io.torus.BlockVolume;
import io.torus.ConcurrentUpdateException;
import io.torus.Extent;
import io.torus.LeaseLostException;
import io.torus.fault.WriterMain;
import io.torus.nbd.NbdServer;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The fault suite's NBD writer: opens the volume for writing like {@link WriterMain} (same
 * arguments, same {@link WriterMain#LEASE_TTL}), exports it with {@link NbdServer} on loopback
 * (what {@code torus nbd} runs), and hands its standard input and output to a libnbd client
 * ({@code nbd_writer.py}, Python binding of libnbd) that runs the suite's commands as NBD
 * WRITE (with FUA when asked) and FLUSH requests. Pausing this JVM pauses the server; killing
 * it drops the client's connection, so every later request fails.
 *
 * <p>NBD replies carry only an errno, so the driver cannot tell a fenced volume (which never
 * commits again) from a passing failure by the replies. This process watches the volume's
 * write and flush failures instead and, at the first {@link LeaseLostException} or
 * {@link ConcurrentUpdateException}, prints {@code FENCED <Class>: <message>} on the
 * standard output it shares with the client (one {@code write} of a short line, so it does
 * not interleave with the client's lines); the driver then replaces this writer.
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
        .addExport(v.name(), new FenceWatch(v)).start();
    Process client = new ProcessBuilder("/usr/bin/python3", script.toString(),
        server.uri(v.name()), Long.toString(v.id()), Integer.toString(v.blockSize()), args[3])
        .inheritIO().start();
    int rc = client.waitFor() == 0 ? 0 : 4;
    Files.deleteIfExists(script);
    client.destroyForcibly();
    client.waitFor(5, TimeUnit.SECONDS);
    Runtime.getRuntime().halt(rc);
  }

  /** The volume as exported: says {@code FENCED} once when a write or flush finds it fenced. */
  private static final class FenceWatch implements BlockVolume {
    private final BlockVolume v;
    private final AtomicBoolean said = new AtomicBoolean();
    private final FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);

    FenceWatch(BlockVolume v) {
      this.v = v;
    }

    /** {@code f}'s outcome, unchanged (the exception itself, not wrapped), after a look. */
    private CompletableFuture<Void> watch(CompletableFuture<Void> f) {
      CompletableFuture<Void> out = new CompletableFuture<>();
      f.whenComplete((r, e) -> {
        try {
          look(e);
        } finally {
          if (e != null) {
            out.completeExceptionally(e);
          } else {
            out.complete(r);
          }
        }
      });
      return out;
    }

    private void look(Throwable e) {
      Throwable c = e;
      while ((c instanceof CompletionException || c instanceof ExecutionException)
          && c.getCause() != null) {
        c = c.getCause();
      }
      if ((c instanceof LeaseLostException || c instanceof ConcurrentUpdateException)
          && said.compareAndSet(false, true)) {
        String msg = String.valueOf(c.getMessage()).replace('\n', ' ');
        String line = "FENCED " + c.getClass().getSimpleName() + ": "
            + msg.substring(0, Math.min(200, msg.length())) + "\n";
        try {
          synchronized (stdout) {
            stdout.write(line.getBytes(StandardCharsets.UTF_8)); // one write(2)
          }
        } catch (IOException x) {
          // the driver is gone
        }
      }
    }

    @Override
    public String name() {
      return v.name();
    }

    @Override
    public long id() {
      return v.id();
    }

    @Override
    public long size() {
      return v.size();
    }

    @Override
    public int blockSize() {
      return v.blockSize();
    }

    @Override
    public boolean isReadOnly() {
      return v.isReadOnly();
    }

    @Override
    public CompletableFuture<Void> readAsync(long offset, ByteBuffer dst) {
      return v.readAsync(offset, dst);
    }

    @Override
    public CompletableFuture<Void> writeAsync(long offset, ByteBuffer src) {
      return watch(v.writeAsync(offset, src));
    }

    @Override
    public CompletableFuture<Void> flushAsync() {
      return watch(v.flushAsync());
    }

    @Override
    public CompletableFuture<Void> trimAsync(long offset, long length) {
      return watch(v.trimAsync(offset, length));
    }

    @Override
    public CompletableFuture<Void> writeZeroesAsync(long offset, long length) {
      return watch(v.writeZeroesAsync(offset, length));
    }

    @Override
    public CompletableFuture<List<Extent>> extentsAsync(long offset, long length) {
      return v.extentsAsync(offset, length);
    }

    @Override
    public void close() {
      v.close();
    }
  }
}
