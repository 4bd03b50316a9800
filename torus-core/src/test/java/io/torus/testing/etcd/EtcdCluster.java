package io.torus.testing.etcd;

import io.torus.TlsConfig;
import io.torus.testing.tls.TestPki;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that runs a real etcd cluster (1 or more members) on free loopback
 * ports, each member with its own temporary data directory and fast timing flags.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final EtcdCluster ETCD = EtcdCluster.builder().members(3).build();
 * </pre>
 *
 * <p>On a static field the cluster lives for the test class; on an instance field, for each
 * test. Members can be killed ({@code SIGKILL}), paused ({@code SIGSTOP}), resumed and
 * restarted from their data directories, one at a time or all together. Every process this
 * extension started is killed by its PID and every temporary directory deleted when the
 * cluster is closed, also when a test fails (and by a shutdown hook if the JVM exits early).
 *
 * <p>If the {@code etcd} binary is missing, starting fails with the command that installs it:
 * integration runs never skip silently.
 *
 * <p>Not thread-safe: drive it from the test thread.
 */
public final class EtcdCluster implements BeforeAllCallback, AfterAllCallback,
    BeforeEachCallback, AfterEachCallback, AutoCloseable {

  /** How long to wait for members to become healthy. */
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);

  private final int size;
  private final String binary;
  private final Duration heartbeat;
  private final Duration election;
  private final List<Member> members = new ArrayList<>();
  private final TlsConfig serverTls;
  private final HttpClient http;
  private Path baseDir;
  private Thread shutdownHook;
  private boolean perTest;

  private EtcdCluster(Builder b) {
    this.size = b.members;
    this.binary = b.binary;
    this.heartbeat = b.heartbeat;
    this.election = b.election;
    this.serverTls = b.serverTls;
    HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500));
    if (b.clientTls != null) {
      hb.sslContext(TestPki.sslContext(b.clientTls));
    }
    this.http = hb.build();
  }

  /** A builder for a one-member cluster. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds an {@link EtcdCluster}. */
  public static final class Builder {
    private int members = 1;
    private String binary = "etcd";
    private TlsConfig serverTls;
    private TlsConfig clientTls;
    private Duration heartbeat = Duration.ofMillis(20);
    private Duration election = Duration.ofMillis(200);

    private Builder() {}

    /**
     * The members' raft heartbeat interval and election timeout (default 20 ms and 200 ms:
     * healthy in a tenth of a second, for tests). Under heavy CPU load such short timeouts
     * make members hold elections again and again; load harnesses use etcd's own defaults,
     * 100 ms and 1 s.
     */
    public Builder timing(Duration heartbeatInterval, Duration electionTimeout) {
      if (heartbeatInterval.toMillis() < 1 || electionTimeout.toMillis()
          < 5 * heartbeatInterval.toMillis()) {
        throw new IllegalArgumentException("heartbeat >= 1 ms and election >= 5 heartbeats: "
            + heartbeatInterval + ", " + electionTimeout);
      }
      this.heartbeat = heartbeatInterval;
      this.election = electionTimeout;
      return this;
    }

    /**
     * Serves clients over mutual TLS: members listen on {@code https://} client URLs with
     * {@code server}'s certificate and key, trust its CA and require client certificates
     * ({@code --client-cert-auth}); the harness's health probes present {@code client}.
     * Member-to-member (peer) URLs stay plain {@code http://} on loopback. Default: plain
     * {@code http://} everywhere.
     */
    public Builder tls(TlsConfig server, TlsConfig client) {
      this.serverTls = server;
      this.clientTls = client;
      return this;
    }

    /** Number of members, 1 to 7 (default 1). */
    public Builder members(int n) {
      if (n < 1 || n > 7) {
        throw new IllegalArgumentException("members must be 1 to 7: " + n);
      }
      this.members = n;
      return this;
    }

    /** The etcd binary, a name on the PATH or a path (default {@code etcd}). */
    public Builder binary(String binary) {
      this.binary = binary;
      return this;
    }

    /** The cluster; started by JUnit when the extension is registered. */
    public EtcdCluster build() {
      return new EtcdCluster(this);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (members.isEmpty()) {
      perTest = true;
      start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (perTest) {
      close();
    }
  }

  /**
   * Starts every member and waits until the cluster is healthy. A port found free can be taken
   * by another process before etcd binds it: then the cluster is stopped and started again on
   * new ports (three attempts).
   */
  public void start() {
    if (!members.isEmpty()) {
      throw new IllegalStateException("already started");
    }
    for (int attempt = 1; ; attempt++) {
      try {
        startOnce();
        return;
      } catch (IllegalStateException e) {
        if (attempt == 3 || e.getMessage() == null
            || !e.getMessage().contains("address already in use")) {
          throw e;
        }
        close();
      }
    }
  }

  private void startOnce() {
    String exe = findBinary();
    try {
      baseDir = Files.createTempDirectory("torus-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    shutdownHook = new Thread(this::destroyAll, "etcd-cluster-cleanup");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    StringBuilder initial = new StringBuilder();
    for (int i = 0; i < size; i++) {
      Member m = new Member(i, exe, freePort(), freePort(), baseDir.resolve("m" + i));
      members.add(m);
      initial.append(i == 0 ? "" : ",").append(m.name).append("=").append(m.peerUrl());
    }
    for (Member m : members) {
      m.initialCluster = initial.toString();
      m.launch();
    }
    awaitHealthy();
  }

  /**
   * The client URLs of all members, e.g. {@code http://127.0.0.1:40123} ({@code https://}
   * with {@link Builder#tls}).
   */
  public List<String> endpoints() {
    List<String> out = new ArrayList<>();
    for (Member m : members) {
      out.add(m.clientUrl());
    }
    return out;
  }

  /** The client URL of member {@code i}. */
  public String endpoint(int i) {
    return member(i).clientUrl();
  }

  /** The number of members. */
  public int size() {
    return size;
  }

  /** The OS process id of member {@code i}, or -1 if it is not running. */
  public long pid(int i) {
    Process p = member(i).process;
    return p != null && p.isAlive() ? p.pid() : -1;
  }

  /** Kills member {@code i} with SIGKILL and waits for it to exit. */
  public void kill(int i) {
    member(i).kill();
  }

  /** Pauses member {@code i} with SIGSTOP. */
  public void pause(int i) {
    member(i).signal("STOP");
  }

  /** Resumes member {@code i} with SIGCONT. */
  public void resume(int i) {
    member(i).signal("CONT");
  }

  /** Restarts member {@code i} (killing it first if it runs) and waits for it to be healthy. */
  public void restart(int i) {
    Member m = member(i);
    m.kill();
    m.launch();
    awaitHealthy(List.of(m));
  }

  /** Pauses every member. */
  public void pauseAll() {
    for (Member m : members) {
      m.signal("STOP");
    }
  }

  /** Resumes every member. */
  public void resumeAll() {
    for (Member m : members) {
      m.signal("CONT");
    }
  }

  /** Kills every member with SIGKILL. */
  public void killAll() {
    for (Member m : members) {
      m.kill();
    }
  }

  /** Restarts every member from its data directory and waits until the cluster is healthy. */
  public void restartAll() {
    killAll();
    for (Member m : members) {
      m.launch();
    }
    awaitHealthy();
  }

  /** Waits (bounded) until every running member reports itself healthy. */
  public void awaitHealthy() {
    List<Member> running = new ArrayList<>();
    for (Member m : members) {
      if (m.process != null && m.process.isAlive()) {
        running.add(m);
      }
    }
    awaitHealthy(running);
  }

  /** Kills every member by PID and deletes the data directories. Idempotent. */
  @Override
  public void close() {
    destroyAll();
    members.clear();
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException ignored) {
        // The JVM is already shutting down; the hook runs anyway.
      }
      shutdownHook = null;
    }
    deleteTree(baseDir);
    baseDir = null;
  }

  private void destroyAll() {
    for (Member m : members) {
      m.kill();
    }
  }

  private Member member(int i) {
    if (i < 0 || i >= members.size()) {
      throw new IllegalArgumentException("no member " + i + " (cluster has "
          + members.size() + " running members)");
    }
    return members.get(i);
  }

  private void awaitHealthy(List<Member> which) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    for (Member m : which) {
      while (!m.healthy()) {
        if (!m.process.isAlive()) {
          throw new IllegalStateException("etcd member " + m.name + " exited with "
              + m.process.exitValue() + "; log tail:\n" + m.logTail());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("etcd member " + m.name + " not healthy within "
              + READY_TIMEOUT + "; log tail:\n" + m.logTail());
        }
        sleep(50);
      }
    }
  }

  private String findBinary() {
    if (binary.contains(File.separator)) {
      if (Files.isExecutable(Path.of(binary))) {
        return binary;
      }
    } else {
      String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
      for (String dir : path.split(File.pathSeparator)) {
        Path p = Path.of(dir, binary);
        if (Files.isExecutable(p)) {
          return p.toString();
        }
      }
    }
    throw new IllegalStateException("the etcd binary '" + binary + "' was not found: install "
        + "it with `apt-get install etcd-server` (Debian 12 ships etcd 3.4)");
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private final class Member {
    final String name;
    final String exe;
    final int clientPort;
    final int peerPort;
    final Path dataDir;
    final Path log;
    String initialCluster;
    Process process;

    Member(int index, String exe, int clientPort, int peerPort, Path dir) {
      this.name = "m" + index;
      this.exe = exe;
      this.clientPort = clientPort;
      this.peerPort = peerPort;
      this.dataDir = dir.resolve("data");
      this.log = dir.resolve("etcd.log");
    }

    String clientUrl() {
      return (serverTls != null ? "https" : "http") + "://127.0.0.1:" + clientPort;
    }

    String peerUrl() {
      return "http://127.0.0.1:" + peerPort;
    }

    void launch() {
      try {
        Files.createDirectories(dataDir.getParent());
        List<String> cmd = new ArrayList<>(List.of(exe, "--name", name,
            "--data-dir", dataDir.toString(),
            "--listen-client-urls", clientUrl(), "--advertise-client-urls", clientUrl(),
            "--listen-peer-urls", peerUrl(), "--initial-advertise-peer-urls", peerUrl(),
            "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "torus-test",
            "--heartbeat-interval", Long.toString(heartbeat.toMillis()),
            "--election-timeout", Long.toString(election.toMillis()),
            "--log-outputs", "stderr"));
        if (serverTls != null) {
          cmd.addAll(List.of("--cert-file", serverTls.certificateChain().toString(),
              "--key-file", serverTls.privateKey().toString(),
              "--trusted-ca-file", serverTls.caCertificate().toString(),
              "--client-cert-auth"));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_"));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        process = pb.start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start etcd member " + name, e);
      }
    }

    void kill() {
      Process p = process;
      if (p == null) {
        return;
      }
      p.destroyForcibly();
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          throw new IllegalStateException("etcd member " + name + " (pid " + p.pid()
              + ") did not exit after SIGKILL");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void signal(String sig) {
      Process p = process;
      if (p == null || !p.isAlive()) {
        throw new IllegalStateException("etcd member " + name + " is not running");
      }
      try {
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid()))
            .redirectErrorStream(true).start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
          throw new IllegalStateException("kill -" + sig + " " + p.pid() + " failed");
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }

    boolean healthy() {
      try {
        HttpRequest req = HttpRequest.newBuilder(URI.create(clientUrl() + "/health"))
            .timeout(Duration.ofMillis(500)).GET().build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200 && r.body().contains("\"health\":\"true\"");
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }

    String logTail() {
      try {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }
  }
}
