package io.torus.examples.csi;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The kernel's NBD client as the node plugin uses it: whether it can be had (the {@code nbd}
 * module loaded, {@code nbd-client} installed), which {@code /dev/nbdN} is free, and
 * connecting and disconnecting one.
 *
 * <p>A device is free when sysfs shows no client on it: {@code /sys/block/nbdN/pid} is absent
 * (the kernel creates it while a client holds the device) and {@code /sys/block/nbdN/size}
 * is 0; and its device node exists. {@code nbd-client} (3.24) configures the device over
 * netlink and exits: the connection belongs to the kernel, so it outlives the plugin.
 *
 * <p>Connect: {@code nbd-client 127.0.0.1 PORT /dev/nbdN -N VOLUME -t 120}: the size comes
 * from the export (NBD_OPT_GO), and a request waits at most 120 s, longer than Torus takes to
 * fail a peer over, after which the kernel fails it with EIO instead of hanging its caller
 * for ever. Disconnect: {@code nbd-client -d /dev/nbdN}, then
 * wait (at most 30 s) for the kernel to let the device go.
 *
 * <p>Stateless apart from the two roots (the real {@code /sys} and {@code /dev}, or a test's
 * directories); thread-safe. Choosing and connecting a device is made atomic by the caller
 * ({@link Attacher} holds one lock for both).
 */
final class KernelNbd {
  /** Seconds a request may wait on the export before the kernel fails it. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final String CLIENT = "nbd-client";

  private final Path sys;
  private final Path dev;
  private final List<Path> searchPath;

  KernelNbd(Path sys, Path dev, List<Path> searchPath) {
    this.sys = sys;
    this.dev = dev;
    this.searchPath = List.copyOf(searchPath);
  }

  /** The machine's: {@code /sys}, {@code /dev}, and $PATH with the sbin directories. */
  static KernelNbd system() {
    List<Path> path = new ArrayList<>();
    String env = System.getenv("PATH");
    if (env != null) {
      for (String p : env.split(File.pathSeparator)) {
        if (!p.isEmpty()) {
          path.add(Path.of(p));
        }
      }
    }
    for (String p : List.of("/usr/local/sbin", "/usr/sbin", "/sbin")) {
      path.add(Path.of(p));
    }
    return new KernelNbd(Path.of("/sys"), Path.of("/dev"), path);
  }

  /** True if the {@code nbd} module is loaded (or built in): {@code /sys/module/nbd}. */
  boolean moduleLoaded() {
    return Files.isDirectory(sys.resolve("module").resolve("nbd"));
  }

  /** The {@code nbd-client} program, if installed. */
  Optional<Path> client() {
    return searchPath.stream().map(d -> d.resolve(CLIENT)).filter(Files::isExecutable)
        .findFirst();
  }

  /**
   * What keeps the kernel client from being used, or null if nothing does: the module, then
   * the program, each with what to do about it.
   */
  String missing() {
    if (!moduleLoaded()) {
      return "the nbd kernel module is not loaded (no " + sys.resolve("module/nbd")
          + "; load it with 'modprobe nbd' on the node)";
    }
    if (client().isEmpty()) {
      return "nbd-client is not installed (not found in " + searchPath
          + "; Debian package nbd-client)";
    }
    return null;
  }

  /** The first free {@code /dev/nbdN} (by N) not in {@code taken}, if any. */
  Optional<String> freeDevice(Set<String> taken) {
    Path block = sys.resolve("block");
    if (!Files.isDirectory(block)) {
      return Optional.empty();
    }
    List<String> names;
    try (Stream<Path> s = Files.list(block)) {
      names = s.map(p -> p.getFileName().toString()).filter(n -> n.matches("nbd\\d+"))
          .sorted(Comparator.comparingInt(n -> Integer.parseInt(n.substring(3)))).toList();
    } catch (IOException e) {
      throw CsiErrors.internal("cannot list " + block + ": " + e.getMessage());
    }
    for (String n : names) {
      String device = dev.resolve(n).toString();
      if (!taken.contains(device) && free(n) && Files.exists(dev.resolve(n))) {
        return Optional.of(device);
      }
    }
    return Optional.empty();
  }

  /** True if no client holds {@code nbdN}: no {@code pid} file, size 0. */
  boolean free(String name) {
    Path d = sys.resolve("block").resolve(name);
    if (Files.exists(d.resolve("pid"))) {
      return false;
    }
    try {
      return Files.readString(d.resolve("size")).strip().equals("0");
    } catch (IOException e) {
      return false;
    }
  }

  /** True if a client holds {@code device} ({@code /dev/nbdN}). */
  boolean connected(String device) {
    return Files.exists(sys.resolve("block").resolve(Path.of(device).getFileName())
        .resolve("pid"));
  }

  /** The arguments of {@code nbd-client} connecting {@code device} to an export. */
  List<String> connectCommand(String host, int port, String device, String export) {
    return List.of(client().map(Path::toString).orElse(CLIENT), host, Integer.toString(port),
        device, "-N", export, "-t", Long.toString(REQUEST_TIMEOUT.toSeconds()));
  }

  /**
   * Connects {@code device} to the export and waits (at most 30 s) for the kernel to show its
   * size; throws INTERNAL with nbd-client's output if it fails.
   */
  void connect(String host, int port, String device, String export)
      throws InterruptedException {
    Host.Result r = Host.run(connectCommand(host, port, device, export));
    if (!r.ok()) {
      throw CsiErrors.internal("nbd-client could not connect " + device + " to " + export
          + " (exit " + r.exit() + "): " + r.output());
    }
    if (!Host.await(SETTLE, () -> connected(device) && !free(name(device)))) {
      throw CsiErrors.internal("nbd-client connected " + device + " but the kernel shows no"
          + " client or no size on it within " + SETTLE.toSeconds() + " s");
    }
  }

  /** Disconnects {@code device} and waits (at most 30 s) until the kernel has let it go. */
  void disconnect(String device) throws InterruptedException {
    if (!connected(device)) {
      return;
    }
    Host.Result r = Host.run(client().map(Path::toString).orElse(CLIENT), "-d", device);
    if (!r.ok() && connected(device)) {
      throw CsiErrors.internal("nbd-client -d " + device + " failed (exit " + r.exit() + "): "
          + r.output());
    }
    if (!Host.await(SETTLE, () -> !connected(device))) {
      throw CsiErrors.internal(device + " is still connected " + SETTLE.toSeconds()
          + " s after nbd-client -d");
    }
  }

  private static String name(String device) {
    return Path.of(device).getFileName().toString();
  }
}
