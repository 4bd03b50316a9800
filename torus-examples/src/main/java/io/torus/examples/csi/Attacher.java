package io.torus.examples.csi;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Attaches a Torus volume to this machine as a block device and takes it away again, each
 * step recorded in the volume's {@link StageState} as soon as it is done, so that a step is
 * never done twice and a restarted plugin finishes or undoes what an earlier one began.
 *
 * <p>The chain, top to bottom: a {@code torus nbd} process of its own exports the volume on
 * loopback (it holds the volume's single-writer lock; an encrypted volume's export gets the
 * key-encryption key in its environment, {@code --key-env}, never on its command line); the
 * export becomes a block device in one of two ways ({@link AttachMode}):
 * <ul>
 *   <li>kernel: {@code nbd-client} connects a free {@code /dev/nbdN} to the export
 *       ({@link KernelNbd}); the connection belongs to the kernel;
 *   <li>fuse: {@code nbdfuse} serves the export as a file, and a loop device makes the file a
 *       block device.
 * </ul>
 * For mount access the device carries a file system (made on first use, grown to the device
 * when the volume grew since) mounted at the staging path. The processes run in sessions of
 * their own with their output in the state directory: they are not children that die with
 * the plugin, so restarting the plugin leaves mounted volumes working.
 *
 * <p>Detaching goes bottom-up: unmount; kernel: flush the device's buffers (an NBD FLUSH) and
 * {@code nbd-client -d}; fuse: detach the loop device, {@code fsync} the nbdfuse file (an NBD
 * FLUSH: everything written is committed to the cluster), unmount nbdfuse; then SIGTERM the
 * export, which flushes once more and releases the volume.
 *
 * <p>Not thread-safe per volume: the node service holds the volume's lock. Choosing and
 * connecting a /dev/nbdN is done under one lock of this attacher, so two volumes staged at
 * once never pick the same device.
 */
final class Attacher {
  private static final Pattern EXPORTING = Pattern.compile("exporting \\S+ at (nbd://\\S+)");
  private static final Pattern HOST_PORT = Pattern.compile("nbd://([^:/]+):(\\d+)/");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

  private final List<String> nbdCommand;
  private final KernelNbd kernel;
  private final Object devices = new Object();

  /**
   * @param nbdCommand how to run {@code torus nbd} with the cluster options of this plugin,
   *     e.g. {@code [java, -cp, torus.jar, io.torus.examples.cli.TorusCommand, nbd, --etcd,
   *     URLS]}; the listen address and the volume are appended
   * @param kernel the kernel NBD client of this machine
   */
  Attacher(List<String> nbdCommand, KernelNbd kernel) {
    this.nbdCommand = List.copyOf(nbdCommand);
    this.kernel = kernel;
  }

  /**
   * How a volume staged now is attached under {@code mode}: {@code "kernel"} or
   * {@code "fuse"}.
   *
   * @throws io.grpc.StatusRuntimeException FAILED_PRECONDITION naming what is missing when
   *     {@code mode} is {@link AttachMode#KERNEL} and the module or {@code nbd-client} is
   */
  String choose(AttachMode mode, Path volumesDir) {
    return switch (mode) {
      case FUSE -> "fuse";
      case KERNEL -> {
        String missing = kernel.missing();
        if (missing != null) {
          throw CsiErrors.precondition("the plugin attaches volumes with the kernel's NBD"
              + " client (attach mode kernel), but " + missing);
        }
        yield "kernel";
      }
      case AUTO -> kernel.missing() == null
          && kernel.freeDevice(StageState.nbdDevicesInUse(volumesDir)).isPresent()
          ? "kernel" : "fuse";
    };
  }

  /**
   * Brings {@code s} up to an attached block device (and a mounted file system).
   *
   * @param key the key-encryption key of an encrypted volume (null for a plain one), asked for
   *     only when the export has to be started
   */
  void attach(StageState s, Supplier<SecretKek> key) throws IOException, InterruptedException {
    boolean nbdAlive = !s.nbd.isEmpty() && Host.Pid.parse(s.nbd).alive();
    if (!nbdAlive && (!s.fuse.isEmpty() || !s.loop.isEmpty() || !s.nbdDevice.isEmpty())) {
      throw CsiErrors.internal("the NBD export of " + s.volume + " stopped while attached ("
          + tail(s.dir.resolve("nbd.log")) + "); unstage the volume and stage it again");
    }
    if (!nbdAlive) {
      startExport(s, key.get());
    } else if (s.nbdUri.isEmpty()) { // a plugin stopped while the export was starting
      awaitExport(s, Host.Pid.parse(s.nbd));
    }
    if (s.kernel()) {
      attachKernel(s);
    } else {
      attachFuse(s);
    }
    if (!s.block() && !Host.isMountPoint(Path.of(s.staging))) {
      makeFileSystemOnFirstUse(s);
      List<String> mount = new ArrayList<>(List.of("mount", "-t", s.fsType));
      if (!s.mountFlags.isEmpty()) {
        mount.addAll(List.of("-o", s.mountFlags));
      }
      mount.addAll(List.of(s.device(), s.staging));
      Host.check(mount.toArray(String[]::new));
    }
  }

  private void attachFuse(StageState s) throws IOException, InterruptedException {
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
  }

  /**
   * Connects a /dev/nbdN to the export, recording the device before connecting it: a
   * restarted plugin finds the device it chose connected (done) or free (connects it).
   */
  private void attachKernel(StageState s) throws InterruptedException {
    if (!s.nbdDevice.isEmpty() && kernel.connected(s.nbdDevice)) {
      return;
    }
    String missing = kernel.missing();
    if (missing != null) {
      throw CsiErrors.precondition("volume " + s.volume + " is attached with the kernel's NBD"
          + " client, but " + missing);
    }
    Matcher m = HOST_PORT.matcher(s.nbdUri);
    if (!m.find()) {
      throw CsiErrors.internal("the export of " + s.volume + " has no host:port: " + s.nbdUri);
    }
    synchronized (devices) {
      if (s.nbdDevice.isEmpty()) {
        s.nbdDevice = kernel.freeDevice(StageState.nbdDevicesInUse(s.dir.getParent()))
            .orElseThrow(() -> Status.RESOURCE_EXHAUSTED.withDescription("no free /dev/nbdN"
                + " on this node for " + s.volume + " (load the module with more devices:"
                + " modprobe nbd nbds_max=N)").asRuntimeException());
        s.save();
      }
      kernel.connect(m.group(1), Integer.parseInt(m.group(2)), s.nbdDevice, s.volume);
    }
  }

  private void startExport(StageState s, SecretKek key)
      throws IOException, InterruptedException {
    Files.createDirectories(s.dir);
    Path log = s.dir.resolve("nbd.log");
    Files.deleteIfExists(log);
    Files.createFile(log);
    List<String> cmd = new ArrayList<>(nbdCommand);
    if (key != null) {
      cmd.addAll(List.of("--key-env", SecretKek.ENV));
    }
    cmd.addAll(List.of("--listen", "127.0.0.1:0", s.volume));
    Host.Pid pid = Host.spawn(cmd, log, key == null ? Map.of() : key.environment());
    s.nbd = pid.toString();
    s.kekId = key == null ? "" : key.id();
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
        if (why.contains("is encrypted with key")) {
          throw SecretKek.denied("the NBD export of " + s.volume + " cannot open it: " + why);
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
    Host.Result probe = Host.run("blkid", "-p", "-s", "TYPE", "-o", "value", s.device());
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
      throw CsiErrors.internal("blkid " + s.device() + " failed (exit " + probe.exit() + "): "
          + probe.output());
    }
    if (s.fsType.equals("ext4") || s.fsType.equals("ext3") || s.fsType.equals("ext2")) {
      // no discard: a fresh Torus volume is all holes already
      Host.check("mkfs." + s.fsType, "-q", "-F", "-E", "nodiscard,lazy_itable_init=1", s.device());
    } else {
      Host.check("mkfs." + s.fsType, s.device());
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
    Host.Result fsck = Host.run("e2fsck", "-f", "-p", s.device());
    if (fsck.exit() > 1) { // 1: errors corrected
      throw CsiErrors.internal("e2fsck " + s.device() + " failed (exit " + fsck.exit() + "): "
          + fsck.output());
    }
    Host.check("resize2fs", s.device());
  }

  /** True if {@code s} holds an ext file system smaller than its device by a block or more. */
  static boolean extNeedsGrowth(StageState s) {
    if (!s.fsType.startsWith("ext")) {
      return false; // xfs grows only when mounted: NodeExpandVolume
    }
    long blocks = 0;
    long blockSize = 0;
    for (String line : Host.check("dumpe2fs", "-h", s.device()).split("\n")) {
      if (line.startsWith("Block count:")) {
        blocks = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      } else if (line.startsWith("Block size:")) {
        blockSize = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    return blockSize > 0 && deviceSize(s.device()) >= (blocks + 1) * blockSize;
  }

  /** Takes everything {@code s} records down, bottom-up; then removes its state. */
  void detach(StageState s) throws IOException, InterruptedException {
    if (!s.staging.isEmpty() && !s.block()) {
      Host.unmountAll(Path.of(s.staging));
    }
    if (!s.nbdDevice.isEmpty()) {
      if (kernel.connected(s.nbdDevice)) {
        boolean exportAlive = !s.nbd.isEmpty() && Host.Pid.parse(s.nbd).alive();
        // an NBD FLUSH; without the export nothing can be flushed, only disconnected
        Host.Result flush = exportAlive ? Host.run("blockdev", "--flushbufs", s.nbdDevice)
            : new Host.Result(0, "");
        if (!flush.ok()) {
          throw CsiErrors.internal("flushing " + s.volume + " on " + s.nbdDevice + " failed: "
              + flush.output());
        }
        kernel.disconnect(s.nbdDevice);
      }
      s.nbdDevice = "";
      s.save();
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
