package io.torus.examples.csi;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * What the node plugin knows of one staged volume, kept on disk so that a restarted plugin
 * carries on where the last one stopped: the NBD export process, how it is attached (the
 * kernel's NBD device, or the nbdfuse process and the loop device), the staging path and the
 * published targets. It never holds a key: an encrypted volume's export got its key in its
 * environment, and only the key's id is recorded.
 *
 * <p>Layout: {@code STATE_DIR/volumes/VOLUME_ID/} holds {@code state.properties} (below),
 * {@code nbd.log} and {@code nbdfuse.log} (the two processes' output) and {@code fuse/}, the
 * nbdfuse mount point whose file {@code fuse/disk} is the volume's content.
 *
 * <pre>
 * key        value
 * volume     the CSI volume id (= the Torus volume name)
 * staging    the staging target path
 * access     mount | block
 * fsType     file system type (mount access)
 * mountFlags mount options, comma-separated (mount access)
 * attach     kernel | fuse: how the export is made a block device (absent: fuse)
 * kekId      id of the key-encryption key the export was given ("": not encrypted)
 * nbd        PID:START of the torus nbd process ("" until started)
 * nbdUri     nbd://127.0.0.1:PORT/VOLUME it exports
 * nbdDevice  kernel: /dev/nbdN chosen for the export ("" until chosen; recorded before
 *            nbd-client connects it, so a restarted plugin checks that device)
 * fuse       fuse: PID:START of the nbdfuse process ("" until started)
 * loop       fuse: /dev/loopN backed by fuse/disk ("" until attached)
 * targets    published target paths, separated by NUL
 * </pre>
 *
 * Written atomically (a temporary file moved over the old one); not thread-safe: the node
 * service holds the volume's lock around every read-modify-write.
 */
final class StageState {
  final Path dir;
  String volume = "";
  String staging = "";
  String access = "mount";
  String fsType = "ext4";
  String mountFlags = "";
  String attach = "fuse";
  String kekId = "";
  String nbd = "";
  String nbdUri = "";
  String fuse = "";
  String loop = "";
  String nbdDevice = "";
  List<String> targets = new ArrayList<>();

  private StageState(Path dir) {
    this.dir = dir;
  }

  /** The state directory of {@code volumeId} under {@code stateDir}. */
  static Path dirOf(Path stateDir, String volumeId) {
    return stateDir.resolve("volumes").resolve(volumeId);
  }

  /** A fresh state for {@code volumeId}, not yet written. */
  static StageState create(Path stateDir, String volumeId) {
    StageState s = new StageState(dirOf(stateDir, volumeId));
    s.volume = volumeId;
    return s;
  }

  /** The saved state of {@code volumeId}, or null if it is not staged here. */
  static StageState load(Path stateDir, String volumeId) {
    Path dir = dirOf(stateDir, volumeId);
    Path file = dir.resolve("state.properties");
    if (!Files.isRegularFile(file)) {
      return null;
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw CsiErrors.internal("cannot read " + file + ": " + e.getMessage());
    }
    StageState s = new StageState(dir);
    s.volume = p.getProperty("volume", volumeId);
    s.staging = p.getProperty("staging", "");
    s.access = p.getProperty("access", "mount");
    s.fsType = p.getProperty("fsType", "ext4");
    s.mountFlags = p.getProperty("mountFlags", "");
    s.attach = p.getProperty("attach", "fuse");
    s.kekId = p.getProperty("kekId", "");
    s.nbd = p.getProperty("nbd", "");
    s.nbdUri = p.getProperty("nbdUri", "");
    s.fuse = p.getProperty("fuse", "");
    s.loop = p.getProperty("loop", "");
    s.nbdDevice = p.getProperty("nbdDevice", "");
    String t = p.getProperty("targets", "");
    s.targets = t.isEmpty() ? new ArrayList<>() : new ArrayList<>(Arrays.asList(t.split("\0")));
    return s;
  }

  boolean block() {
    return access.equals("block");
  }

  /** True if the kernel's NBD client attaches this volume (else nbdfuse and a loop device). */
  boolean kernel() {
    return attach.equals("kernel");
  }

  /** The block device the volume is attached as: its /dev/nbdN or /dev/loopN ("" if none). */
  String device() {
    return kernel() ? nbdDevice : loop;
  }

  /** The /dev/nbdN devices the staged volumes under {@code volumesDir} have chosen. */
  static java.util.Set<String> nbdDevicesInUse(Path volumesDir) {
    java.util.Set<String> out = new java.util.HashSet<>();
    if (!Files.isDirectory(volumesDir)) {
      return out;
    }
    try (var dirs = Files.list(volumesDir)) {
      for (Path d : dirs.toList()) {
        StageState s = load(volumesDir.getParent(), d.getFileName().toString());
        if (s != null && !s.nbdDevice.isEmpty()) {
          out.add(s.nbdDevice);
        }
      }
    } catch (IOException e) {
      throw CsiErrors.internal("cannot list " + volumesDir + ": " + e.getMessage());
    }
    return out;
  }

  /** The nbdfuse mount point. */
  Path fuseDir() {
    return dir.resolve("fuse");
  }

  /** The file nbdfuse serves the volume's content as. */
  Path fuseFile() {
    return fuseDir().resolve("disk");
  }

  /** Writes the state atomically. */
  void save() {
    Properties p = new Properties();
    p.setProperty("volume", volume);
    p.setProperty("staging", staging);
    p.setProperty("access", access);
    p.setProperty("fsType", fsType);
    p.setProperty("mountFlags", mountFlags);
    p.setProperty("attach", attach);
    p.setProperty("kekId", kekId);
    p.setProperty("nbd", nbd);
    p.setProperty("nbdUri", nbdUri);
    p.setProperty("fuse", fuse);
    p.setProperty("loop", loop);
    p.setProperty("nbdDevice", nbdDevice);
    p.setProperty("targets", String.join("\0", targets));
    try {
      Files.createDirectories(dir);
      Path tmp = dir.resolve("state.properties.tmp");
      try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        p.store(w, "torus csi: one staged volume");
      }
      try {
        Files.move(tmp, dir.resolve("state.properties"), StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir.resolve("state.properties"), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw CsiErrors.internal("cannot write the state of " + volume + " in " + dir + ": "
          + e.getMessage());
    }
  }

  /** Removes the state directory (after unstaging: nothing in it is mounted any more). */
  void delete() {
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      throw CsiErrors.internal("cannot remove " + dir + ": " + e.getMessage());
    }
  }
}
