package io.torus.testing.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * N peer JVMs ({@link PeerMain}, {@code -Xmx384m} unless the JVM options given set another
 * {@code -Xmx}: the last one wins; file stores) against one etcd, each behind
 * its own {@link FaultProxy}: peers register the proxy's port, so every client and peer
 * reaches peer {@code i} through {@code proxy(i)}.
 *
 * <p>Peers can be killed ({@code SIGKILL}), paused ({@code SIGSTOP}), resumed
 * ({@code SIGCONT}) and restarted from their data directories. {@link #close()} kills every
 * process it started by PID, closes the proxies and deletes the directories; a shutdown hook
 * does the same if the JVM exits early. Every wait is bounded. Not thread-safe.
 */
public final class PeerProcesses implements AutoCloseable {
  private static final long READY_SECONDS = 60;

  private final String etcd;
  private final String prefix;
  private final Path base;
  private final List<Peer> peers = new ArrayList<>();
  private final Thread hook = new Thread(this::destroyAll, "peer-processes-cleanup");
  private final List<String> jvmOptions;

  private final class Peer {
    final Path dir;
    final FaultProxy proxy;
    Process process;
    int port;

    Peer(Path dir) throws IOException {
      this.dir = dir;
      this.proxy = new FaultProxy();
    }
  }

  /**
   * Starts {@code n} peers and waits until each serves.
   *
   * @param etcd one etcd client URL
   * @param prefix the cluster's etcd prefix (unique per test)
   */
  public PeerProcesses(String etcd, String prefix, int n) throws IOException {
    this(etcd, prefix, n, List.of());
  }

  /**
   * Starts {@code n} peers with extra JVM options (e.g. the {@code -Dtorus.peer.*} settings
   * {@link PeerMain} reads) and waits until each serves.
   */
  public PeerProcesses(String etcd, String prefix, int n, List<String> jvmOptions)
      throws IOException {
    this.jvmOptions = List.copyOf(jvmOptions);
    this.etcd = etcd;
    this.prefix = prefix;
    this.base = Files.createTempDirectory("torus-peers");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      for (int i = 0; i < n; i++) {
        peers.add(new Peer(Files.createDirectories(base.resolve("peer-" + i))));
      }
      List<CompletableFuture<Void>> starts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int idx = i;
        starts.add(CompletableFuture.runAsync(() -> launch(idx)));
      }
      starts.forEach(CompletableFuture::join);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private void launch(int i) {
    Peer p = peers.get(i);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m", "-XX:+UseSerialGC"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        PeerMain.class.getName(), etcd, prefix, p.dir.toString(), Integer.toString(p.port),
        Integer.toString(p.proxy.port())));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    // appended: a restarted peer's log follows the one of its previous life
    pb.redirectError(ProcessBuilder.Redirect.appendTo(p.dir.resolve("stderr.log").toFile()));
    try {
      p.process = pb.start();
      BufferedReader out = new BufferedReader(new InputStreamReader(
          p.process.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
        try {
          return out.readLine();
        } catch (IOException e) {
          return null;
        }
      });
      String ready = line.get(READY_SECONDS, TimeUnit.SECONDS);
      if (ready == null || !ready.startsWith("READY ")) {
        throw new IllegalStateException("peer " + i + " did not start: " + ready + "; log: "
            + Files.readString(p.dir.resolve("stderr.log")));
      }
      p.port = Integer.parseInt(ready.substring(6).trim());
      p.proxy.target(p.port);
    } catch (Exception e) {
      if (p.process != null) {
        p.process.destroyForcibly();
      }
      throw new IllegalStateException("starting peer " + i + ": " + e, e);
    }
  }

  /** Starts one more peer (index {@link #size()} before the call) and waits until it serves. */
  public int add() throws IOException {
    int i = peers.size();
    peers.add(new Peer(Files.createDirectories(base.resolve("peer-" + i))));
    launch(i);
    return i;
  }

  /** Number of peers. */
  public int size() {
    return peers.size();
  }

  /** Peer {@code i}'s data directory. */
  public Path dataDirectory(int i) {
    return peers.get(i).dir;
  }

  /** The proxy in front of peer {@code i}. */
  public FaultProxy proxy(int i) {
    return peers.get(i).proxy;
  }

  /** Peer {@code i}'s PID. */
  public long pid(int i) {
    return peers.get(i).process.pid();
  }

  /** Kills peer {@code i} with SIGKILL and waits (bounded) for it to exit. */
  public void kill(int i) throws InterruptedException {
    Process p = peers.get(i).process;
    p.destroyForcibly();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("peer " + i + " did not die");
    }
  }

  /** Sends SIGSTOP to peer {@code i}. */
  public void pause(int i) throws IOException, InterruptedException {
    signal(i, "STOP");
  }

  /** Sends SIGCONT to peer {@code i}. */
  public void resume(int i) throws IOException, InterruptedException {
    signal(i, "CONT");
  }

  private void signal(int i, String sig) throws IOException, InterruptedException {
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid(i))).start();
    if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
      throw new IllegalStateException("kill -" + sig + " " + pid(i) + " failed");
    }
  }

  /** Restarts a killed (or running: it is killed first) peer from its data directory. */
  public void restart(int i) throws InterruptedException {
    Peer p = peers.get(i);
    if (p.process.isAlive()) {
      kill(i);
    }
    launch(i);
  }

  /**
   * Copies every peer's log ({@code stderr.log}, all its lives) to {@code to} as
   * {@code peer-<i>.log}, to keep it past {@link #close()}; best effort.
   */
  public void copyLogs(Path to) {
    try {
      Files.createDirectories(to);
      for (int i = 0; i < peers.size(); i++) {
        Path log = peers.get(i).dir.resolve("stderr.log");
        if (Files.exists(log)) {
          Files.copy(log, to.resolve("peer-" + i + ".log"),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      System.out.println("could not keep the peers' logs: " + e);
    }
  }

  /**
   * Restarts several killed (or running: they are killed first) peers at once, each from its
   * data directory, and waits until all serve.
   */
  public void restart(List<Integer> ids) throws InterruptedException {
    for (int i : ids) {
      if (peers.get(i).process.isAlive()) {
        kill(i);
      }
    }
    List<CompletableFuture<Void>> starts = new ArrayList<>();
    for (int i : ids) {
      starts.add(CompletableFuture.runAsync(() -> launch(i)));
    }
    starts.forEach(CompletableFuture::join);
  }

  private void destroyAll() {
    for (Peer p : peers) {
      if (p.process != null) {
        p.process.destroyForcibly();
        try {
          p.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      p.proxy.close();
    }
  }

  /** Kills every peer by PID, closes the proxies, deletes the directories. Idempotent. */
  @Override
  public void close() {
    destroyAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down
    }
    try (Stream<Path> s = Files.walk(base)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }
}
