package io.torus.benchmarks.nbd;

import io.torus.benchmarks.TempDirs;
import io.torus.benchmarks.nbd.Jobs.Figure;
import io.torus.benchmarks.nbd.Launcher.Proc;
import io.torus.benchmarks.nbd.Setups.Target;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * pgbench on a real file system over an export: {@code nbdfuse} shows the export as a file,
 * a loop device over it carries a fresh ext4, PostgreSQL (fsync on, run as {@code nobody})
 * keeps its data there, and {@code pgbench} (scale 10, 4 clients) runs for
 * {@link Config#pgbenchSeconds}. Reports transactions per second, the average latency, the
 * time of {@code pgbench -i}, and the servers' CPU seconds per 1000 transactions.
 *
 * <p>Needs root (losetup, mount), {@code /dev/fuse}, nbdfuse, fusermount3, losetup,
 * mkfs.ext4, initdb, pg_ctl, pgbench, a user {@code nobody} and an export of at least
 * 512 MiB; without one of them the step is skipped with the reason in the notes.
 *
 * <p>Everything is undone in reverse order when the step ends or fails: PostgreSQL stopped
 * (immediate; its postmaster killed by PID if it is still there), the file system unmounted,
 * the loop device detached, nbdfuse unmounted and stopped.
 */
final class Pgbench {
  private static final String USER = "nobody";
  private static final int SCALE = 10;
  private static final int CLIENTS = 4;

  private Pgbench() {}

  /** Why pgbench cannot run here, or empty if it can. */
  static Optional<String> unavailable(Config c) {
    if (c.pgbenchSeconds() <= 0) {
      return Optional.of("pgbench skipped (--no-pgbench or --pgbench-seconds 0)");
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      return Optional.of("pgbench skipped: needs root (losetup, mount)");
    }
    if (c.sizeMiB() < 512) {
      return Optional.of("pgbench skipped: needs an export of at least 512 MiB (scale 10"
          + " and its WAL), this run has " + c.sizeMiB() + " MiB");
    }
    if (!Files.exists(Path.of("/dev/fuse"))) {
      return Optional.of("pgbench skipped: no /dev/fuse");
    }
    for (String tool : List.of("nbdfuse", "fusermount3", "losetup", "mkfs.ext4", "mount",
        "umount", "initdb", "pg_ctl", "pgbench", "runuser")) {
      if (which(tool) == null) {
        return Optional.of("pgbench skipped: " + tool + " not on the PATH (Debian: apt-get"
            + " install -y libnbd-bin fuse3 postgresql)");
      }
    }
    try {
      Launcher.run(List.of("id", USER), Duration.ofSeconds(10));
    } catch (Exception e) {
      return Optional.of("pgbench skipped: no user '" + USER + "' to run PostgreSQL as");
    }
    return Optional.empty();
  }

  /**
   * Runs the step against {@code t} and adds its figures; does nothing if it is
   * {@link #unavailable} (the run's header says why).
   */
  static void run(Target t, Config c, Launcher parent, Path tmp, String label,
      List<Figure> figures, List<String> notes) throws Exception {
    if (unavailable(c).isPresent()) {
      return;
    }
    Path dir = Files.createTempDirectory(tmp, "pg-");
    try (Launcher l = new Launcher(parent.logDir())) {
      l.onClose("remove " + dir, () -> TempDirs.delete(dir));
      openUp(dir, c.tmpRoot());
      Path fuse = Files.createDirectory(dir.resolve("fuse"));
      Path disk = fuse.resolve("nbd");
      Proc nbdfuse = l.start("nbdfuse-" + label, List.of("nbdfuse", disk.toString(), t.uri()));
      l.onClose("fusermount3 -u " + fuse, () -> quiet("fusermount3", "-u", fuse.toString()));
      awaitFile(nbdfuse, disk, c.sizeBytes());
      String loop = Launcher.run(List.of("losetup", "--find", "--show", disk.toString()),
          Duration.ofSeconds(30)).trim();
      l.onClose("losetup -d " + loop, () -> quiet("losetup", "-d", loop));
      Launcher.run(List.of("mkfs.ext4", "-q", "-F", "-E",
          "nodiscard,lazy_itable_init=0,lazy_journal_init=0", loop), Duration.ofSeconds(300));
      Path mnt = Files.createDirectory(dir.resolve("mnt"));
      Launcher.run(List.of("mount", loop, mnt.toString()), Duration.ofSeconds(60));
      l.onClose("umount " + mnt, () -> quiet("umount", mnt.toString()));
      Path pgdata = Files.createDirectory(mnt.resolve("pgdata"));
      // the socket's path must stay under 108 bytes: a short directory of its own
      Path run = Files.createTempDirectory(Path.of("/tmp"), "nbd-bench-pg-");
      l.onClose("remove " + run, () -> TempDirs.delete(run));
      giveToUser(pgdata);
      giveToUser(run);
      Files.setPosixFilePermissions(pgdata, PosixFilePermissions.fromString("rwx------"));
      Launcher.run(asUser(which("initdb"), "-D", pgdata.toString(), "-U", "postgres",
          "-A", "trust", "--no-instructions"), Duration.ofSeconds(300));
      int port = Launcher.freePort();
      Path pgLog = run.resolve("postgres.log");
      l.onClose("copy the postgres log", () -> Files.copy(pgLog,
          parent.logDir().resolve("postgres-" + label + ".log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING));
      l.onClose("stop postgres", () -> stopPostgres(pgdata));
      Launcher.run(asUser(which("pg_ctl"), "-D", pgdata.toString(), "-l", pgLog.toString(),
          "-w", "-t", "120", "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k " + run
              + " -c fsync=on -c synchronous_commit=on -c shared_buffers=128MB"
              + " -c max_wal_size=256MB", "start"), Duration.ofSeconds(180));
      List<String> conn = List.of("-h", "127.0.0.1", "-p", String.valueOf(port),
          "-U", "postgres", "postgres");
      long t0 = System.nanoTime();
      Launcher.run(concat(List.of("pgbench", "-i", "-q", "-s", String.valueOf(SCALE)), conn),
          Duration.ofSeconds(900));
      double initSeconds = (System.nanoTime() - t0) / 1e9;
      Map<String, Double> before = Jobs.cpu(t);
      long flushesBefore = t.flushes();
      String out = Launcher.run(concat(List.of("pgbench", "-c", String.valueOf(CLIENTS),
          "-j", "2", "-T", String.valueOf(c.pgbenchSeconds())), conn),
          Duration.ofSeconds(c.pgbenchSeconds() + 300L));
      Map<String, Double> used = Jobs.delta(before, Jobs.cpu(t));
      long flushes = flushesBefore < 0 ? -1 : t.flushes() - flushesBefore;
      double tps = number(out, "tps = ([0-9.]+) \\(without initial connection time\\)");
      double latency = number(out, "latency average = ([0-9.]+) ms");
      double tx = number(out, "number of transactions actually processed: (\\d+)");
      Map<String, Double> perKtx = new LinkedHashMap<>();
      used.forEach((k, v) -> perKtx.put(k, tx > 0 ? v / (tx / 1000) : Double.NaN));
      String job = "pgbench s" + SCALE + " c" + CLIENTS;
      figures.add(new Figure(job, "tps", tps, perKtx));
      figures.add(new Figure(job + " latency avg", "ms", latency));
      figures.add(new Figure("pgbench -i s" + SCALE, "s", initSeconds));
      notes.add(String.format(Locale.ROOT, "pgbench: %.0f transactions in %d s on ext4 over"
          + " nbdfuse + %s, fsync on%s (CPU column: s per 1000 transactions)", tx,
          c.pgbenchSeconds(), loop,
          flushes < 0 ? "" : "; the volume completed " + flushes + " flushes meanwhile"));
    }
  }

  private static void stopPostgres(Path pgdata) throws Exception {
    Path pidFile = pgdata.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
    quiet(asUser(which("pg_ctl"), "-D", pgdata.toString(), "-m", "fast", "-w", "-t", "60",
        "stop").toArray(String[]::new));
    Optional<ProcessHandle> left = ProcessHandle.of(pid);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (left.isPresent() && left.get().isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    left.filter(ProcessHandle::isAlive).ifPresent(h -> {
      System.err.println("nbd-bench: postgres pid " + pid + " still running; killing it");
      h.descendants().forEach(ProcessHandle::destroyForcibly);
      h.destroyForcibly();
    });
  }

  private static void awaitFile(Proc nbdfuse, Path disk, long size) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(disk) && Files.size(disk) == size) {
        return;
      }
      if (!nbdfuse.process().isAlive()) {
        throw new IllegalStateException("nbdfuse exited; log " + nbdfuse.log() + ":\n"
            + Launcher.tail(nbdfuse.log()));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("nbdfuse did not show " + disk + " within 30 s");
  }

  private static List<String> asUser(String... cmd) {
    return concat(List.of("runuser", "-u", USER, "--"), List.of(cmd));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> l = new ArrayList<>(a);
    l.addAll(b);
    return l;
  }

  private static void giveToUser(Path p) throws Exception {
    UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName(USER);
    Files.setOwner(p, u);
  }

  /**
   * Lets {@code nobody} reach {@code dir}: 755 on it and on its parents below {@code root}
   * (the harness made them all).
   */
  private static void openUp(Path dir, Path root) throws Exception {
    for (Path p = dir; p.startsWith(root) && !p.equals(root); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  private static void quiet(String... cmd) {
    try {
      Launcher.run(List.of(cmd), Duration.ofSeconds(90));
    } catch (Exception e) {
      System.err.println("nbd-bench: " + String.join(" ", cmd) + ": " + e.getMessage());
    }
  }

  private static double number(String out, String regex) {
    Matcher m = Pattern.compile(regex).matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("no '" + regex + "' in pgbench output:\n" + out);
    }
    return Double.parseDouble(m.group(1));
  }

  private static String which(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      File f = new File(d, tool);
      if (f.canExecute()) {
        return f.getPath();
      }
    }
    for (String d : List.of("/usr/sbin", "/sbin")) {
      File f = new File(d, tool);
      if (f.canExecute()) {
        return f.getPath();
      }
    }
    return null;
  }
}
