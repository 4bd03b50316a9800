package io.torus.examples.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Takes down whatever a node plugin's state directory says is attached, however a test
 * ended: unmounts published targets and the staging path, disconnects a kernel NBD device,
 * detaches loop devices, unmounts nbdfuse and kills the recorded {@code nbdfuse} and
 * {@code torus nbd} processes by PID (only if the PID still names the process started, by its
 * start time).
 */
final class CsiCleanup {
  private CsiCleanup() {}

  /**
   * Starts the plugin {@code name} of a test under {@code dir} (its socket and state
   * directory there), serving both services, healthy with two peers up.
   */
  static Process startPlugin(TorusProcesses torus, Path dir, String name) throws Exception {
    return torus.start("csi ready", "csi", "--endpoint", "unix://" + dir.resolve(name + ".sock"),
        "--state-dir", dir.resolve("state-" + name).toString(), "--node-id", "node-" + name,
        "--min-peers", "2", "--nbd-java-options", "-Xmx256m -XX:TieredStopAtLevel=1");
  }

  /**
   * Closes the clients, takes down what the plugins {@code names} attached under {@code dir}
   * ({@link #clean}), then stops every process of {@code torus}; each step runs however the
   * one before ended.
   */
  static void stopAll(TorusProcesses torus, Path dir, List<String> names,
      CsiClient... clients) throws Exception {
    try {
      for (CsiClient c : clients) {
        if (c != null) {
          c.close();
        }
      }
    } finally {
      try {
        for (String n : names) {
          clean(dir.resolve("state-" + n));
        }
      } finally {
        if (torus != null) {
          torus.close();
        }
      }
    }
  }

  static void clean(Path stateDir) throws IOException, InterruptedException {
    Path volumes = stateDir.resolve("volumes");
    if (!Files.isDirectory(volumes)) {
      return;
    }
    List<Path> dirs;
    try (Stream<Path> s = Files.list(volumes)) {
      dirs = s.toList();
    }
    for (Path d : dirs) {
      Path file = d.resolve("state.properties");
      Properties p = new Properties();
      if (Files.isRegularFile(file)) {
        try (Reader r = Files.newBufferedReader(file)) {
          p.load(r);
        }
      }
      List<String> mounts = new ArrayList<>();
      String targets = p.getProperty("targets", "");
      if (!targets.isEmpty()) {
        mounts.addAll(List.of(targets.split("\0")));
      }
      if (!p.getProperty("staging", "").isEmpty()) {
        mounts.add(p.getProperty("staging"));
      }
      for (String m : mounts) {
        for (int i = 0; i < 4; i++) {
          quiet("umount", "-l", m);
        }
      }
      String nbdDevice = p.getProperty("nbdDevice", "");
      if (!nbdDevice.isEmpty()) {
        quiet("nbd-client", "-d", nbdDevice);
      }
      Path fuseFile = d.resolve("fuse").resolve("disk");
      String loops = quiet("losetup", "-j", fuseFile.toString(), "-O", "NAME", "-n");
      for (String loop : loops.split("\n")) {
        if (loop.startsWith("/dev/")) {
          quiet("losetup", "-d", loop.strip());
        }
      }
      quiet("fusermount3", "-u", "-z", d.resolve("fuse").toString());
      kill(p.getProperty("fuse", ""));
      kill(p.getProperty("nbd", ""));
    }
  }

  private static void kill(String pidAndStart) {
    if (pidAndStart.isEmpty()) {
      return;
    }
    String[] f = pidAndStart.split(":");
    long pid = Long.parseLong(f[0]);
    try {
      String stat = Files.readString(Path.of("/proc", f[0], "stat"));
      String start = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
      if (start.equals(f[1])) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    } catch (IOException | RuntimeException e) {
      // gone already
    }
  }

  private static String quiet(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    return new String(out, java.nio.charset.StandardCharsets.UTF_8);
  }
}
