package io.torus.examples.csi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Attaches a Torus volume to this machine as a block device and takes it away again, each
 * step recorded in the volume's {@link StageState} as soon as it is done, so that a step is
 * never done twice and a restarted plugin finishes or undoes what an earlier one began.
 *
 * <p>The chain, top to bottom: a {@code torus nbd} process of its own exports the volume on
 * loopback (it holds the volume's single-writer lock); {@code nbdfuse} serves that export as
 * a file; a loop device makes the file a block device; for mount access the device carries a
 * file system (made on first use, grown to the device when the volume grew since) mounted at
 * the staging path. The two processes run in
 * sessions of their own with their output in the state directory: they are not children that
 * die with the plugin, so restarting the plugin leaves mounted volumes working.
 *
 * <p>Detaching goes bottom-up: unmount, detach the loop device, {@code fsync} the nbdfuse
 * file (an NBD FLUSH: everything written is committed to the cluster), unmount nbdfuse, then
 * SIGTERM the export, which flushes once more and releases the volume.
 *
 * <p>Not thread-safe per volume: the node service holds the volume's lock.
 */
final class Attacher {
  private static final Pattern EXPORTING = Pattern.compile("exporting \\S+ at (nbd://\\S+)");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

  private final List<String> nbdCommand;

  /**
   * @param nbdCommand how to run {@code torus nbd} with the cluster options of this plugin,
   *     e.g. {@code [java, -cp, torus.jar, io.torus.examples.cli.TorusCommand, nbd, --etcd,
   *     URLS]}; the listen address and the volume are appended
   */
  Attacher(List<String> nbdCommand) {
    this.nbdCommand = List.copyOf(nbdCommand);
  }

  /** Brings {@code s} up to an attached loop device (and a mounted file system). */
  void attach(StageState s) throws IOException, InterruptedException {
    boolean nbdAlive = !s.nbd.isEmpty() && Host.Pid.parse(s.nbd).alive();
    if (!nbdAlive && (!s.fuse.isEmpty() || !s.loop.isEmpty())) {
      throw CsiErrors.internal("the NBD export of " + s.volume + " stopped while attached ("
          + tail(s.dir.resolve("nbd.log")) + "); unstage the volume and stage it again");
    }
    if (!nbdAlive) {
      startExport(s);
    } else if (s.nbdUri.isEmpty()) { // a plugin stopped while the export was starting
      awaitExport(s, Host.Pid.parse(s.nbd));
    }
    if (s.fuse.isEmpty() || !Host.Pid.parse(s.fuse).alive()) {
      startFuse(s);
    }
    List<String> loops = loopsOf(s.fuseFile());
    if (s.loop.isEmpty() || !loops.contains(s.loop)) {
      // one a plugin attached before it could record it, else a new one
      s.loop = loops.isEmpty()
          ? Host.check("losetup", "--find", "--show", s.fuseFile().toString()) : loops.get(0);
      s.save();
    }
    if (!s.block() && !Host.isMountPoint(Path.of(s.staging))) {
      makeFileSystemOnFirstUse(s);
      List<String> mount = new ArrayList<>(List.of("mount", "-t", s.fsType));
      if (!s.mountFlags.isEmpty()) {
        mount.addAll(List.of("-o", s.mountFlags));
      }
      mount.addAll(List.of(s.loop, s.staging));
      Host.check(mount.toArray(String[]::new));
    }
  }

  private void startExport(StageState s) throws IOException, InterruptedException {
    Files.createDirectories(s.dir);
    Path log = s.dir.resolve("nbd.log");
    Files.deleteIfExists(log);
    Files.createFile(log);
    List<String> cmd = new ArrayList<>(nbdCommand);
    cmd.addAll(List.of("--listen", "127.0.0.1:0", s.volume));
    Host.Pid pid = Host.spawn(cmd, log);
    s.nbd = pid.toString();
    s.save();
    awaitExport(s, pid);
  }

  /** Waits for the export's "nbd ready" and records its URI; stops it if it fails. */
  private static void awaitExport(StageState s, Host.Pid pid)
      throws IOException, InterruptedException {
    Path log = s.dir.resolve("nbd.log");
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      String text = Files.readString(log);
      Matcher m = EXPORTING.matcher(text);
      if (text.contains("nbd ready") && m.find()) {
        s.nbdUri = m.group(1);
        s.save();
        return;
      }
      if (!pid.alive() || System.nanoTime() > deadline) {
        Host.stop(pid, Duration.ofSeconds(5));
        s.nbd = "";
        s.save();
        String why = tail(log);
        if (why.contains("held by another writer")) {
          throw CsiErrors.precondition("volume " + s.volume + " is attached elsewhere: " + why);
        }
        throw CsiErrors.internal("the NBD export of " + s.volume + " did not start: " + why);
      }
      Thread.sleep(50);
    }
  }

  private void startFuse(StageState s) throws IOException, InterruptedException {
    Path dir = s.fuseDir();
    if (Host.isMountPoint(dir)) { // left by an nbdfuse that died
      Host.run("fusermount3", "-u", "-z", dir.toString());
    }
    Files.createDirectories(dir);
    Path log = s.dir.resolve("nbdfuse.log");
    Host.Pid pid = Host.spawn(List.of("nbdfuse", s.fuseFile().toString(), s.nbdUri), log);
    s.fuse = pid.toString();
    s.save();
    boolean up = Host.await(START_TIMEOUT, () -> !pid.alive() || fuseFileReady(s));
    if (!up || !pid.alive()) {
      Host.stop(pid, Duration.ofSeconds(5));
      Host.run("fusermount3", "-u", "-z", dir.toString());
      s.fuse = "";
      s.save();
      throw CsiErrors.internal("nbdfuse for " + s.volume + " did not start: " + tail(log));
    }
  }

  private static boolean fuseFileReady(StageState s) {
    try {
      return Host.isMountPoint(s.fuseDir()) && Files.size(s.fuseFile()) > 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Makes the file system on first use, or grows it to the device on later ones. */
  private static void makeFileSystemOnFirstUse(StageState s) {
    Host.Result probe = Host.run("blkid", "-p", "-s", "TYPE", "-o", "value", s.loop);
    if (probe.ok() && !probe.output().isEmpty()) {
      String found = probe.output().strip();
      if (!found.equals(s.fsType)) {
        throw CsiErrors.precondition("volume " + s.volume + " holds a " + found
            + " file system, not the " + s.fsType + " asked for");
      }
      growOffline(s);
      return;
    }
    if (probe.exit() != 2) { // 2: nothing recognised, the device is blank
      throw CsiErrors.internal("blkid " + s.loop + " failed (exit " + probe.exit() + "): "
          + probe.output());
    }
    if (s.fsType.equals("ext4") || s.fsType.equals("ext3") || s.fsType.equals("ext2")) {
      // no discard: a fresh Torus volume is all holes already
      Host.check("mkfs." + s.fsType, "-q", "-F", "-E", "nodiscard,lazy_itable_init=1", s.loop);
    } else {
      Host.check("mkfs." + s.fsType, s.loop);
    }
  }

  /**
   * Grows an ext file system that is smaller than its device (the volume was expanded while
   * not staged) before it is mounted: an offline resize needs no privilege beyond the
   * device's, where an online one needs CAP_SYS_RESOURCE.
   */
  private static void growOffline(StageState s) {
    if (!extNeedsGrowth(s)) {
      return;
    }
    Host.Result fsck = Host.run("e2fsck", "-f", "-p", s.loop);
    if (fsck.exit() > 1) { // 1: errors corrected
      throw CsiErrors.internal("e2fsck " + s.loop + " failed (exit " + fsck.exit() + "): "
          + fsck.output());
    }
    Host.check("resize2fs", s.loop);
  }

  /** True if {@code s} holds an ext file system smaller than its device by a block or more. */
  static boolean extNeedsGrowth(StageState s) {
    if (!s.fsType.startsWith("ext")) {
      return false; // xfs grows only when mounted: NodeExpandVolume
    }
    long blocks = 0;
    long blockSize = 0;
    for (String line : Host.check("dumpe2fs", "-h", s.loop).split("\n")) {
      if (line.startsWith("Block count:")) {
        blocks = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      } else if (line.startsWith("Block size:")) {
        blockSize = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    return blockSize > 0 && deviceSize(s.loop) >= (blocks + 1) * blockSize;
  }

  /** Takes everything {@code s} records down, bottom-up; then removes its state. */
  void detach(StageState s) throws IOException, InterruptedException {
    if (!s.staging.isEmpty() && !s.block()) {
      Host.unmountAll(Path.of(s.staging));
    }
    for (String loop : loopsOf(s.fuseFile())) {
      Host.run("blockdev", "--flushbufs", loop);
      Host.check("losetup", "-d", loop);
    }
    s.loop = "";
    s.save();
    boolean fuseAlive = !s.fuse.isEmpty() && Host.Pid.parse(s.fuse).alive();
    if (fuseAlive) {
      Host.Result sync = Host.run("sync", s.fuseFile().toString()); // NBD FLUSH
      if (!sync.ok()) {
        throw CsiErrors.internal("flushing " + s.volume + " failed: " + sync.output());
      }
    }
    if (Host.isMountPoint(s.fuseDir())) {
      Host.check("fusermount3", "-u", s.fuseDir().toString());
    }
    if (fuseAlive) {
      Host.stop(Host.Pid.parse(s.fuse), STOP_TIMEOUT);
    }
    s.fuse = "";
    s.save();
    if (!s.nbd.isEmpty()) {
      Path log = s.dir.resolve("nbd.log");
      Host.Pid nbd = Host.Pid.parse(s.nbd);
      boolean wasAlive = nbd.alive();
      boolean clean = Host.stop(nbd, STOP_TIMEOUT);
      s.nbd = "";
      s.save();
      if (wasAlive && (!clean || !Files.readString(log).contains("stopped"))) {
        throw CsiErrors.internal("the NBD export of " + s.volume + " did not stop cleanly: "
            + tail(log));
      }
    }
    s.delete();
  }

  /** The loop devices backed by {@code file}. */
  static List<String> loopsOf(Path file) {
    Host.Result r = Host.run("losetup", "-j", file.toString(), "-O", "NAME", "-n");
    List<String> out = new ArrayList<>();
    if (r.ok()) {
      for (String line : r.output().split("\n")) {
        if (line.startsWith("/dev/")) {
          out.add(line.strip());
        }
      }
    }
    return out;
  }

  /** The size of block device {@code dev} in bytes. */
  static long deviceSize(String dev) {
    return Long.parseLong(Host.check("blockdev", "--getsize64", dev).strip());
  }

  /** The last lines of a log, for error messages. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
