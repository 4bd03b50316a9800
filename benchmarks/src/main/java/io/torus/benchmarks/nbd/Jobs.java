package io.torus.benchmarks.nbd;

import io.torus.benchmarks.nbd.Launcher.Proc;
import io.torus.benchmarks.nbd.Setups.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The jobs of {@link NbdSideBySide}, run against one {@link Target}: fio ({@code
 * --ioengine=nbd}, one connection) throughput jobs, nbdcopy in and out over 4 connections, a
 * queue-depth sweep of 4 KiB random reads, 4 KiB writes each followed by a flush, and pgbench
 * ({@link Pgbench}). Each fio job runs for {@link Config#seconds} after a 1 s ramp
 * ({@code --time_based}: the sequential jobs wrap around the span, min(size, 1 GiB)), so a
 * fast server is measured as long as a slow one.
 *
 * <p><b>CPU.</b> Around each job the user + system CPU time of every server-side process of
 * the target is read from {@code /proc/PID/stat}: for fio jobs from the end of the ramp (1 s
 * after fio's nbd engine reports its connection) to fio's exit, so it covers the same I/O fio
 * counts. It is reported per GB moved (bytes read + written), for pgbench per 1000
 * transactions.
 */
final class Jobs {
  static final int RAMP_SECONDS = 1;
  private static final int[] SWEEP_DEPTHS = {1, 8, 32, 128};

  /**
   * One measured figure; {@code cpu} maps each process to its CPU seconds per GB (per 1000
   * transactions for pgbench), empty for figures that are a detail of another row.
   */
  record Figure(String job, String unit, double value, Map<String, Double> cpu) {
    Figure(String job, String unit, double value) {
      this(job, unit, value, Map.of());
    }
  }

  /** The figures of one target and notes (flush check, skipped steps). */
  record Result(List<Figure> figures, List<String> notes) {}

  private record FioRun(Map<String, Object> job, Map<String, Double> cpu) {
    double bytes() {
      return Json.num(job, "read", "io_bytes") + Json.num(job, "write", "io_bytes");
    }
  }

  private final Target target;
  private final Config config;
  private final Path input;
  private final List<Figure> figures = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  private Jobs(Target target, Config config, Path input) {
    this.target = target;
    this.config = config;
    this.input = input;
  }

  /**
   * Runs every job against {@code target}; {@code input} is a file of random data the size
   * of the export (nbdcopy's source); {@code launcher} and {@code tmp} serve pgbench.
   */
  static Result runAll(Target target, Config config, Path input, Launcher launcher, Path tmp,
      String label) throws Exception {
    Jobs j = new Jobs(target, config, input);
    String span = Math.min(config.sizeMiB(), 1024) + "m";
    // first, so every later read finds written data on both servers (not holes)
    j.nbdcopy("nbdcopy in 4 conn", input.toString(), target.uri(), "--flush");
    j.throughput("seq-write 1M qd8", "write", "1m", 8, span);
    j.throughput("seq-read 1M qd8", "read", "1m", 8, span);
    j.throughput("rand-read 4k qd32", "randread", "4k", 32, span);
    j.throughput("rand-write 4k qd32", "randwrite", "4k", 32, span);
    j.nbdcopy("nbdcopy out 4 conn", target.uri(), "null:", "--no-extents");
    for (int qd : SWEEP_DEPTHS) {
      j.latency("randread 4k qd" + qd, "randread", qd, span, false);
    }
    j.latency("write+flush 4k qd1", "randwrite", 1, span, true);
    Pgbench.run(target, config, launcher, tmp, label, j.figures, j.notes);
    return new Result(j.figures, j.notes);
  }

  private void throughput(String name, String rw, String bs, int qd, String span)
      throws Exception {
    FioRun r = fio(List.of("--rw=" + rw, "--bs=" + bs, "--iodepth=" + qd, "--size=" + span),
        () -> { });
    String dir = rw.contains("read") ? "read" : "write";
    Map<String, Double> cpu = perGb(r.cpu(), r.bytes());
    if (bs.equals("4k")) {
      figures.add(new Figure(name, "IOPS", Json.num(r.job(), dir, "iops"), cpu));
    } else {
      figures.add(new Figure(name, "MB/s", Json.num(r.job(), dir, "bw_bytes") / 1e6, cpu));
    }
  }

  private void latency(String name, String rw, int qd, String span, boolean flush)
      throws Exception {
    List<String> opts = new ArrayList<>(List.of("--rw=" + rw, "--bs=4k", "--iodepth=" + qd,
        "--size=" + span));
    if (flush) {
      opts.add("--fsync=1"); // the nbd engine turns each fsync into NBD_CMD_FLUSH
    }
    long[] flushesBefore = {-1};
    FioRun r = fio(opts, () -> flushesBefore[0] = target.flushes());
    String dir = flush ? "write" : "read";
    figures.add(new Figure(name, "IOPS", Json.num(r.job(), dir, "iops"),
        perGb(r.cpu(), r.bytes())));
    Map<String, Object> clat = Json.obj(r.job(), dir, "clat_ns", "percentile");
    String what = flush ? " write" : "";
    figures.add(new Figure(name + what + " p50", "µs", Json.num(clat, "50.000000") / 1e3));
    figures.add(new Figure(name + what + " p99", "µs", Json.num(clat, "99.000000") / 1e3));
    if (flush) {
      Map<String, Object> sync = Json.obj(r.job(), "sync", "lat_ns", "percentile");
      figures.add(new Figure(name + " flush p50", "µs", Json.num(sync, "50.000000") / 1e3));
      figures.add(new Figure(name + " flush p99", "µs", Json.num(sync, "99.000000") / 1e3));
      long syncs = (long) Json.num(r.job(), "sync", "total_ios");
      long writes = (long) Json.num(r.job(), "write", "total_ios");
      long flushesAfter = target.flushes();
      if (flushesBefore[0] >= 0 && flushesAfter >= 0) {
        notes.add(String.format(Locale.ROOT, "%s: fio sent %d writes and %d flushes (after the"
            + " ramp); the volume completed %d flushes during the job", name, writes, syncs,
            flushesAfter - flushesBefore[0]));
        // a flush fio counts may still be in flight when the counter is read: some slack
        if (flushesAfter - flushesBefore[0] < syncs - Math.max(2, syncs / 100)) {
          notes.add("WARNING: fewer flushes reached the volume than fio counted");
        }
      } else {
        notes.add(String.format(Locale.ROOT, "%s: fio sent %d writes and %d flushes (after the"
            + " ramp)", name, writes, syncs));
      }
    }
  }

  private void nbdcopy(String name, String from, String to, String flag) throws Exception {
    long bytes = config.sizeBytes();
    Map<String, Double> before = cpu(target);
    long t0 = System.nanoTime();
    Launcher.run(List.of("nbdcopy", "--connections=4", flag, from, to),
        java.time.Duration.ofSeconds(Math.max(600, config.seconds() * 20L)));
    double s = (System.nanoTime() - t0) / 1e9;
    figures.add(new Figure(name, "MB/s", bytes / s / 1e6,
        perGb(delta(before, cpu(target)), bytes)));
  }

  /**
   * Runs fio with the common options plus {@code opts}; returns its job and the CPU used
   * after the ramp. {@code atRampEnd} runs when the ramp ends (with the CPU reading).
   */
  private FioRun fio(List<String> opts, Runnable atRampEnd) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("fio", "--name=job", "--ioengine=nbd",
        "--uri=" + target.uri(), "--time_based", "--runtime=" + config.seconds(),
        "--ramp_time=" + RAMP_SECONDS, "--output-format=json"));
    cmd.addAll(opts);
    Path out = Files.createTempFile("nbd-bench-fio-", ".json");
    try {
      Map<String, Double> before = cpu(target);
      Process p = Launcher.track(new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start());
      if (awaitRampEnd(p, out)) {
        before = cpu(target); // from the end of the ramp, as fio counts
      }
      atRampEnd.run();
      if (!p.waitFor(config.seconds() + 120L, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("fio timed out: " + cmd);
      }
      Map<String, Double> used = delta(before, cpu(target));
      String text = Files.readString(out);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("fio failed (" + p.exitValue() + "): " + cmd + "\n"
            + text);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> job = (Map<String, Object>) ((List<Object>) Json.at(
          Json.parseObject(text), "jobs")).get(0);
      if (Json.num(job, "error") != 0) {
        throw new IllegalStateException("fio job error " + Json.num(job, "error") + ": "
            + cmd + "\n" + text);
      }
      return new FioRun(job, used);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /**
   * Waits until fio's ramp is over: {@link #RAMP_SECONDS} after the nbd engine says it is
   * connected (fio's own start-up takes a while on a loaded machine). False if fio exited.
   */
  private static boolean awaitRampEnd(Process p, Path out) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (p.isAlive() && System.nanoTime() < deadline
        && !Files.readString(out).contains("connected to NBD server")) {
      Thread.sleep(10);
    }
    return !p.waitFor(RAMP_SECONDS, TimeUnit.SECONDS);
  }

  /** CPU seconds so far of each server-side process of {@code t}, by name. */
  static Map<String, Double> cpu(Target t) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (Proc p : t.procs()) {
      m.put(p.name(), Launcher.cpuSeconds(p.pid()));
    }
    return m;
  }

  static Map<String, Double> delta(Map<String, Double> before, Map<String, Double> after) {
    Map<String, Double> m = new LinkedHashMap<>();
    before.forEach((k, v) -> m.put(k, after.getOrDefault(k, Double.NaN) - v));
    return m;
  }

  private static Map<String, Double> perGb(Map<String, Double> cpu, double bytes) {
    Map<String, Double> m = new LinkedHashMap<>();
    cpu.forEach((k, v) -> m.put(k, bytes > 0 ? v / (bytes / 1e9) : Double.NaN));
    return m;
  }
}
