package io.torus.benchmarks.nbd;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.nbd.NbdServer;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end NBD benchmark: one Torus export (single node, memory store, in this JVM) and
 * {@code nbdkit memory} side by side on loopback, the same fio jobs and nbdcopy runs against
 * both in one run, each figure printed with the ratio ours/nbdkit.
 *
 * <p>Usage: {@code java -cp benchmarks/target/benchmarks.jar
 * io.torus.benchmarks.nbd.NbdSideBySide [seconds-per-job] [size-MiB]} (defaults 10 and 1024).
 * Needs fio (with its nbd engine), nbdcopy and nbdkit on the PATH.
 */
public final class NbdSideBySide {
  private NbdSideBySide() {}

  /** One measured figure. */
  record Figure(String job, String unit, double value) {}

  /** Runs the benchmark; see the class doc for arguments. */
  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    long sizeMiB = args.length > 1 ? Long.parseLong(args[1]) : 1024;
    long size = sizeMiB << 20;
    for (String tool : List.of("fio", "nbdcopy", "nbdkit")) {
      if (!new File("/usr/bin/" + tool).canExecute()) {
        throw new IllegalStateException(tool + " missing: apt-get install -y fio libnbd-bin"
            + " nbdkit");
      }
    }
    Path input = Files.createTempFile("nbd-bench-", ".bin");
    try {
      writeRandom(input, size);
      List<Figure> ours;
      try (Torus torus = Torus.builder()
          .storeCapacity(Math.max(size * 4, 6L << 30)).gcInterval(Duration.ofSeconds(1)).build()) {
        torus.createVolume(VolumeSpec.builder("bench", size).replication(1).build());
        try (BlockVolume v = torus.openVolume("bench");
            NbdServer server = NbdServer.builder().port(0).addExport("bench", v).start()) {
          ours = runAll(server.uri("bench"), seconds, sizeMiB, input);
        }
      }
      int port = freePort();
      Process kit = new ProcessBuilder("nbdkit", "-f", "-i", "127.0.0.1", "-p",
          String.valueOf(port), "memory", sizeMiB + "M").inheritIO().start();
      List<Figure> theirs;
      try {
        awaitPort(port);
        theirs = runAll("nbd://127.0.0.1:" + port + "/", seconds, sizeMiB, input);
      } finally {
        kit.destroy();
        if (!kit.waitFor(10, TimeUnit.SECONDS)) {
          kit.destroyForcibly();
        }
      }
      print(ours, theirs);
    } finally {
      Files.deleteIfExists(input);
    }
  }

  private static List<Figure> runAll(String uri, int seconds, long sizeMiB, Path input)
      throws Exception {
    List<Figure> f = new ArrayList<>();
    String span = Math.min(sizeMiB, 1024) + "m";
    f.add(fio(uri, "seq-write 1M qd8", "write", "1m", 8, seconds, span, false));
    f.add(fio(uri, "seq-read 1M qd8", "read", "1m", 8, seconds, span, false));
    f.add(fio(uri, "rand-read 4k qd32", "randread", "4k", 32, seconds, span, true));
    f.add(fio(uri, "rand-write 4k qd32", "randwrite", "4k", 32, seconds, span, true));
    f.add(nbdcopy("nbdcopy in", input.toString(), uri, Files.size(input)));
    f.add(nbdcopy("nbdcopy out", uri, "null:", Files.size(input)));
    return f;
  }

  private static Figure fio(String uri, String job, String rw, String bs, int qd, int seconds,
      String span, boolean iops) throws Exception {
    List<String> cmd = List.of("fio", "--name=" + rw, "--ioengine=nbd", "--uri=" + uri,
        "--rw=" + rw, "--bs=" + bs, "--iodepth=" + qd, "--size=" + span,
        "--io_size=" + (iops ? "256m" : span), "--runtime=" + seconds, "--time_based=0",
        "--ramp_time=1", "--output-format=json");
    String out = run(cmd, seconds + 120L);
    String dir = rw.contains("read") ? "read" : "write";
    Matcher m = Pattern.compile("\"" + dir + "\" : \\{[^}]*?\"bw_bytes\" : (\\d+),[^}]*?"
        + "\"iops\" : ([0-9.]+)", Pattern.DOTALL).matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("cannot parse fio output:\n" + out);
    }
    return iops ? new Figure(job, "IOPS", Double.parseDouble(m.group(2)))
        : new Figure(job, "MB/s", Long.parseLong(m.group(1)) / 1e6);
  }

  private static Figure nbdcopy(String job, String from, String to, long bytes)
      throws Exception {
    long t0 = System.nanoTime();
    run(List.of("nbdcopy", "--flush", from, to), 600);
    double s = (System.nanoTime() - t0) / 1e9;
    return new Figure(job, "MB/s", bytes / s / 1e6);
  }

  private static String run(List<String> cmd, long timeoutSeconds) throws Exception {
    Path out = Files.createTempFile("nbd-bench-", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + cmd);
      }
      String s = Files.readString(out);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("failed (" + p.exitValue() + "): " + cmd + "\n" + s);
      }
      return s;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static void print(List<Figure> ours, List<Figure> theirs) {
    Map<String, Figure> kit = new LinkedHashMap<>();
    theirs.forEach(f -> kit.put(f.job(), f));
    System.out.println();
    System.out.printf(Locale.ROOT, "| %-18s | %-5s | %12s | %12s | %6s |%n", "job", "unit",
        "torus", "nbdkit", "ratio");
    System.out.println("|---|---|---:|---:|---:|");
    for (Figure f : ours) {
      Figure k = kit.get(f.job());
      System.out.printf(Locale.ROOT, "| %-18s | %-5s | %12.0f | %12.0f | %6.2f |%n", f.job(),
          f.unit(), f.value(), k.value(), f.value() / k.value());
    }
  }

  private static void writeRandom(Path file, long size) throws IOException {
    Random rnd = new Random(1);
    byte[] chunk = new byte[1 << 20];
    try (OutputStream os = Files.newOutputStream(file)) {
      for (long done = 0; done < size; done += chunk.length) {
        rnd.nextBytes(chunk);
        os.write(chunk, 0, (int) Math.min(chunk.length, size - done));
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void awaitPort(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException("nbdkit did not start on port " + port);
  }
}
