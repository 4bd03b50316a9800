package io.torus.benchmarks.nbd;

import io.torus.benchmarks.nbd.Jobs.Figure;
import io.torus.benchmarks.nbd.Jobs.Result;
import io.torus.benchmarks.nbd.Launcher.Proc;
import io.torus.benchmarks.nbd.Setups.Cluster;
import io.torus.benchmarks.nbd.Setups.Setup;
import io.torus.benchmarks.nbd.Setups.Target;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * End-to-end NBD benchmark: our export and the matching nbdkit plugin side by side on
 * loopback, the same jobs against both in one run, in up to three setups ({@link Setups}):
 * (a) one node with a memory store vs {@code nbdkit memory}, (b) one node with a file store
 * vs {@code nbdkit file}, (c) etcd + 3 peer processes (file stores, R=2; max(3, K+M) with
 * {@code --erasure K+M}) exported by {@code torus nbd} vs {@code nbdkit file}. The jobs are
 * those of {@link Jobs}; the output is one Markdown table per setup with each figure, the
 * ratio ours/nbdkit and the CPU seconds per GB of each server-side process (with {@code
 * --encrypted} and {@code --erasure K+M}, also our side on an encrypted and, in setup (c), on
 * an erasure-coded volume, each with its ratio to the plain volume), printed and saved as
 * {@code results.md} in the run directory ({@code benchmarks/target/nbd-side-by-side-DATE/},
 * with every process's log and, with {@code --jfr}, a JFR recording of each of our JVMs).
 *
 * <p>Usage: {@code java -cp benchmarks/target/benchmarks.jar
 * io.torus.benchmarks.nbd.NbdSideBySide [--setups a,b,c] [--jfr] [--pgbench-seconds N]
 * [--no-pgbench] [--encrypted] [--erasure K+M] [--out DIR] [--tmp DIR] [--torus-jar JAR]
 * [seconds] [size-MiB]}, or
 * {@code benchmarks/nbd-side-by-side.sh} with the same arguments ({@link Config#USAGE}).
 *
 * <p>Every process listens on 127.0.0.1 on a free port, is stopped by PID when its side is
 * done (also on failure or Ctrl-C: {@link Launcher}), and every temporary directory is
 * removed. A setup that fails is reported and the next one still runs; the exit status is 1
 * if any failed.
 */
public final class NbdSideBySide {
  private NbdSideBySide() {}

  /** Runs the benchmark; see the class doc for arguments. */
  public static void main(String[] args) throws Exception {
    Config c;
    try {
      c = Config.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    requireTools(c);
    Files.createDirectories(c.runDir());
    if (c.jfr()) {
      Files.createDirectories(c.runDir().resolve("jfr"));
    }
    StringBuilder report = new StringBuilder(header(c));
    boolean failed = false;
    try (Launcher run = new Launcher(c.runDir().resolve("logs"))) {
      Path tmp = run.tempDir(c.tmpRoot(), "nbd-bench-");
      report.append("\n").append(flushPreflight(run, tmp)).append("\n");
      Pgbench.unavailable(c).ifPresent(why -> report.append("\n").append(why).append("\n"));
      Path input = tmp.resolve("input.bin");
      writeRandom(input, c.sizeBytes());
      for (Setup s : c.setups()) {
        try {
          report.append(runSetup(c, s, tmp, input));
        } catch (Exception e) {
          failed = true;
          System.err.println("nbd-bench: setup " + s.key + " failed:");
          e.printStackTrace();
          report.append("\n## Setup ").append(s.key).append(": FAILED\n\n")
              .append(firstLine(e)).append(" (logs in ").append(c.runDir().resolve("logs"))
              .append(")\n");
        }
      }
    }
    report.append("\nload average at the end: ").append(loadAverage()).append("\n");
    Files.writeString(c.runDir().resolve("results.md"), report);
    System.out.println();
    System.out.print(report);
    System.out.println("\n(saved in " + c.runDir().resolve("results.md") + ")");
    if (failed) {
      System.exit(1);
    }
  }

  /** The servers of one setup. */
  private enum Side {
    TORUS("torus"), TORUS_ENCRYPTED("torus-encrypted"), TORUS_ERASURE("torus-erasure"),
    NBDKIT("nbdkit");

    final String label;

    Side(String label) {
      this.label = label;
    }
  }

  /**
   * A column group beside the plain torus one: its figures, the ratio to the plain figure
   * ({@code ratio} names it) and its CPU seconds per GB.
   */
  private record Extra(String column, String ratio, String cpu, Result result) {}

  /**
   * Runs every side of setup {@code s}: ours on a plain volume, on an erasure-coded one (setup
   * (c) with {@code --erasure}: a second volume on the same cluster, exported after the
   * plain one) and on an encrypted one (own cluster in (c)), then nbdkit. Returns its table.
   */
  private static String runSetup(Config c, Setup s, Path tmp, Path input) throws Exception {
    List<Extra> extras = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    Result ours;
    if (c.erasure() != null && s == Setup.C) {
      String name = s.key + "-cluster";
      try (Launcher l = new Launcher(c.runDir().resolve("logs").resolve(name))) {
        Cluster k = Setups.startCluster(l, c, l.tempDir(tmp, name + "-"), s, 2);
        ours = side(c, s, Side.TORUS, tmp, input, k);
        Result ec = side(c, s, Side.TORUS_ERASURE, tmp, input, k);
        extras.add(new Extra("torus erasure " + c.erasure(), "erasure/replicated", "erasure",
            ec));
      }
      notes.add(String.format(Locale.ROOT, "torus erasure %s: volume %s (erasure %s, map"
          + " nodes %d copies) on the etcd and %d peers (-Xmx%dm each) of the replicated"
          + " volume %s (R=2), exported by its own torus nbd after the replicated side's"
          + " jobs", c.erasure(), Setups.ERASURE_VOLUME, c.erasure(), c.erasure().mapCopies(),
          c.peers(), c.peerHeapMiB(), Setups.VOLUME));
    } else {
      ours = side(c, s, Side.TORUS, tmp, input, null);
      if (c.erasure() != null) {
        notes.add("erasure coding needs a cluster: --erasure " + c.erasure()
            + " is ignored in setup " + s.key + " (one node)");
      }
    }
    if (c.encrypted()) {
      extras.add(0, new Extra("torus encrypted", "encrypted/plain", "encrypted",
          side(c, s, Side.TORUS_ENCRYPTED, tmp, input, null)));
    }
    Result theirs = side(c, s, Side.NBDKIT, tmp, input, null);
    return table(c, s, ours, theirs, extras, notes);
  }

  /**
   * Starts one side of setup {@code s}, runs every job on it, stops it. Our side of (c)
   * exports a volume of {@code cluster} if not null, else starts a cluster of its own.
   */
  private static Result side(Config c, Setup s, Side side, Path tmp, Path input,
      Cluster cluster) throws Exception {
    String label = s.key + "-" + side.label;
    try (Launcher l = new Launcher(c.runDir().resolve("logs").resolve(label))) {
      Path dir = l.tempDir(tmp, label + "-");
      boolean ec = side == Side.TORUS_ERASURE;
      Target t = side == Side.NBDKIT ? Setups.startNbdkit(s, l, c, dir)
          : cluster != null ? Setups.export(cluster, l, c, s,
              ec ? Setups.ERASURE_VOLUME : Setups.VOLUME, ec ? c.erasure() : null, null)
          : Setups.startOurs(s, l, c, dir, side == Side.TORUS_ENCRYPTED);
      System.err.printf("nbd-bench: setup %s, %s at %s (%s)%n", s.key, t.server(), t.uri(),
          t.procs().stream().map(p -> p.name() + " pid " + p.pid())
              .collect(Collectors.joining(", ")));
      Result r = Jobs.runAll(t, c, input, l, dir, label);
      for (Figure f : r.figures()) {
        System.err.printf(Locale.ROOT, "nbd-bench:   %s %-30s %12s %s%n", label, f.job(),
            format(f.value()), f.unit());
      }
      return r;
    }
  }

  /**
   * Proves that fio's nbd engine with {@code --fsync=1} sends NBD_CMD_FLUSH: 50 writes to
   * {@code nbdkit --filter=log memory}, flush requests counted in its log.
   */
  private static String flushPreflight(Launcher run, Path tmp) throws Exception {
    Path log = tmp.resolve("nbdkit-flush-check.log");
    int port = Launcher.freePort();
    long flushes;
    try (Launcher l = new Launcher(run.logDir())) {
      Proc kit = l.start("nbdkit-flush-check", List.of("nbdkit", "-f", "-i", "127.0.0.1",
          "-p", String.valueOf(port), "--filter=log", "memory", "64M", "logfile=" + log));
      Launcher.awaitPort(kit, port, Duration.ofSeconds(15));
      Launcher.run(List.of("fio", "--name=flushcheck", "--ioengine=nbd",
          "--uri=nbd://127.0.0.1:" + port + "/", "--rw=randwrite", "--bs=4k", "--iodepth=1",
          "--fsync=1", "--size=16m", "--number_ios=50"), Duration.ofSeconds(60));
      Launcher.stop(kit);
      flushes = Files.readAllLines(log).stream().filter(x -> x.contains(" Flush id=")).count();
    }
    return flushes >= 49 // fio may end after the last write without its flush
        ? "Flush check: fio --fsync=1 over the nbd engine sent " + flushes + " NBD_CMD_FLUSH"
            + " for 50 writes (nbdkit log filter)."
        : "WARNING: fio --fsync=1 sent only " + flushes + " NBD_CMD_FLUSH for 50 writes"
            + " (nbdkit log filter): the write+flush rows do not measure flushes.";
  }

  private static String table(Config c, Setup s, Result ours, Result theirs,
      List<Extra> extras, List<String> setupNotes) {
    Map<String, Figure> kit = byJob(theirs);
    List<Map<String, Figure>> extraFigures = extras.stream().map(x -> byJob(x.result()))
        .toList();
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%n## Setup %s: %s vs %s%n%n", s.key, s.ours(c),
        s.theirs));
    b.append("| job | unit | torus | nbdkit | ratio | CPU s/GB torus | CPU s/GB nbdkit |");
    extras.forEach(x -> b.append(" ").append(x.column()).append(" | ").append(x.ratio())
        .append(" | CPU s/GB ").append(x.cpu()).append(" |"));
    b.append("\n|---|---|---:|---:|---:|---|---|");
    extras.forEach(x -> b.append("---:|---:|---|"));
    b.append("\n");
    for (Figure f : ours.figures()) {
      Figure k = kit.get(f.job());
      b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |", f.job(),
          f.unit(), format(f.value()), k == null ? "-" : format(k.value()), ratio(f, k),
          cpu(f), k == null ? "" : cpu(k)));
      for (Map<String, Figure> m : extraFigures) {
        Figure e = m.get(f.job());
        b.append(String.format(Locale.ROOT, " %s | %s | %s |", e == null ? "-"
            : format(e.value()), ratio(e, f), e == null ? "" : cpu(e)));
      }
      b.append("\n");
    }
    List<String> notes = new ArrayList<>(setupNotes);
    ours.notes().forEach(n -> notes.add("torus: " + n));
    theirs.notes().forEach(n -> notes.add("nbdkit: " + n));
    extras.forEach(x -> x.result().notes().forEach(n -> notes.add(x.column() + ": " + n)));
    if (!notes.isEmpty()) {
      b.append("\n");
      notes.forEach(n -> b.append("- ").append(n).append("\n"));
    }
    return b.toString();
  }

  private static Map<String, Figure> byJob(Result r) {
    Map<String, Figure> m = new LinkedHashMap<>();
    r.figures().forEach(f -> m.put(f.job(), f));
    return m;
  }

  /** {@code a / b} with two decimals, or "-" if either is missing. */
  private static String ratio(Figure a, Figure b) {
    return a == null || b == null ? "-"
        : String.format(Locale.ROOT, "%.2f", a.value() / b.value());
  }

  private static String cpu(Figure f) {
    return f.cpu().entrySet().stream()
        .map(e -> e.getKey() + " " + (e.getValue() < 0.1
            ? String.format(Locale.ROOT, "%.3f", e.getValue())
            : String.format(Locale.ROOT, "%.2f", e.getValue())))
        .collect(Collectors.joining(", "));
  }

  static String format(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    return String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
  }

  private static String header(Config c) throws Exception {
    String cores = String.valueOf(Runtime.getRuntime().availableProcessors());
    return String.format(Locale.ROOT, "# NBD side by side: torus vs nbdkit%n%n"
            + "%d s per fio job (after a 1 s ramp), %d MiB exports, setups %s, pgbench %s;"
            + " %s cores, %s,"
            + " Java %s; load average at the start: %s%n%n"
            + "Ratio = torus/nbdkit: above 1 is better for MB/s, IOPS and tps, below 1 for µs,"
            + " ms and s. CPU columns: user+system CPU seconds of each server-side process"
            + " per GB read+written by the job (per 1000 transactions for pgbench), from"
            + " /proc/PID/stat.%n%s", c.seconds(), c.sizeMiB(),
        c.setups().stream().map(s -> s.key).collect(Collectors.joining(",")),
        c.pgbenchSeconds() > 0 ? c.pgbenchSeconds() + " s" : "off", cores,
        Launcher.run(List.of("uname", "-sr"), Duration.ofSeconds(10)).trim(),
        System.getProperty("java.version"), loadAverage(), extraHeader(c));
  }

  /** What the extra columns of {@code --encrypted} and {@code --erasure} compare, or "". */
  private static String extraHeader(Config c) {
    StringBuilder b = new StringBuilder();
    if (c.encrypted()) {
      b.append(String.format(Locale.ROOT, "%nencrypted/plain = torus on an encrypted volume"
          + " / torus on a plain one (each on servers of its own).%n"));
    }
    if (c.erasure() != null) {
      b.append(String.format(Locale.ROOT, "%nerasure/replicated = torus on an erasure-coded"
          + " volume (%s) / torus on the replicated one (R=2), in setup c only, both on the"
          + " same etcd and %d peers.%n", c.erasure(), c.peers()));
    }
    return b.toString();
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  private static void requireTools(Config c) {
    List<String> tools = new ArrayList<>(List.of("fio", "nbdcopy", "nbdkit"));
    if (c.setups().contains(Setup.C)) {
      tools.add("etcd");
    }
    for (String tool : tools) {
      boolean found = false;
      for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
        found |= new File(d, tool).canExecute();
      }
      if (!found) {
        System.err.println("nbd-bench: " + tool + " missing: apt-get install -y fio"
            + " libnbd-bin nbdkit etcd-server");
        System.exit(2);
      }
    }
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
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
}
