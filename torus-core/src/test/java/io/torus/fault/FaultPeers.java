package io.torus.fault;

import io.torus.testing.cluster.FaultProxy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Three (or N) {@link FaultPeerMain} JVMs, each behind its own {@link FaultProxy}: peers
 * advertise the proxy's port, so every connection to peer {@code i}, from a writer or another
 * peer, passes through {@code proxy(i)}. Kill, pause, resume, restart by PID; every wait is
 * bounded. {@link #close()} kills every process it started and closes the proxies (the caller
 * deletes the base directory). Not thread-safe: driven by the fault thread.
 */
final class FaultPeers implements AutoCloseable {
  private static final long READY_SECONDS = 60;

  private final String etcd;
  private final String prefix;
  private final List<String> jvm;
  private final Path base;
  private final List<Process> processes = new ArrayList<>();
  private final List<FaultProxy> proxies = new ArrayList<>();
  private final boolean[] paused;

  FaultPeers(String etcd, String prefix, int n, List<String> jvm, Path base)
      throws IOException {
    this.etcd = etcd;
    this.prefix = prefix;
    this.jvm = List.copyOf(jvm);
    this.base = base;
    this.paused = new boolean[n];
    for (int i = 0; i < n; i++) {
      proxies.add(new FaultProxy());
      processes.add(null);
      Files.createDirectories(dir(i));
    }
    List<CompletableFuture<Void>> starts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int idx = i;
      starts.add(CompletableFuture.runAsync(() -> launch(idx)));
    }
    for (CompletableFuture<Void> s : starts) {
      s.join();
    }
  }

  Path dir(int i) {
    return base.resolve("peer-" + i);
  }

  int size() {
    return proxies.size();
  }

  FaultProxy proxy(int i) {
    return proxies.get(i);
  }

  boolean running(int i) {
    Process p = processes.get(i);
    return p != null && p.isAlive();
  }

  private void launch(int i) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(jvm);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        FaultPeerMain.class.getName(), etcd, prefix, dir(i).resolve("data").toString(),
        Integer.toString(proxies.get(i).port())));
    try {
      Process p = new ProcessBuilder(cmd)
          .redirectError(ProcessBuilder.Redirect.appendTo(dir(i).resolve("stderr.log").toFile()))
          .start();
      synchronized (processes) {
        processes.set(i, p);
      }
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8));
      CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
        try {
          return out.readLine();
        } catch (IOException e) {
          return null;
        }
      });
      String ready;
      try {
        ready = line.get(READY_SECONDS, TimeUnit.SECONDS);
      } catch (Exception e) {
        ready = null;
      }
      if (ready == null || !ready.startsWith("READY ")) {
        p.destroyForcibly();
        throw new IllegalStateException("peer " + i + " did not start: " + ready + "; log "
            + dir(i).resolve("stderr.log"));
      }
      proxies.get(i).target(Integer.parseInt(ready.substring(6).trim()));
    } catch (IOException e) {
      throw new IllegalStateException("starting peer " + i, e);
    }
  }

  void kill(int i) throws InterruptedException {
    Process p = processes.get(i);
    if (p != null) {
      p.destroyForcibly();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("peer " + i + " (pid " + p.pid() + ") did not die");
      }
    }
    paused[i] = false;
  }

  void restart(int i) throws InterruptedException {
    kill(i);
    launch(i);
  }

  void pause(int i) throws Exception {
    signal(i, "STOP");
    paused[i] = true;
  }

  void resume(int i) throws Exception {
    signal(i, "CONT");
    paused[i] = false;
  }

  private void signal(int i, String sig) throws Exception {
    Process p = processes.get(i);
    if (p == null || !p.isAlive()) {
      return;
    }
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start();
    if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
      throw new IllegalStateException("kill -" + sig + " " + p.pid() + " failed");
    }
  }

  /** Heals peer {@code i}: resumed if paused, restarted if dead, its proxy passing. */
  void heal(int i) throws Exception {
    proxies.get(i).mode(FaultProxy.Mode.PASS);
    if (paused[i]) {
      resume(i);
    }
    if (!running(i)) {
      launch(i);
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < processes.size(); i++) {
      Process p = processes.get(i);
      if (p != null) {
        try {
          if (paused[i]) {
            resume(i);
          }
        } catch (Exception e) {
          // killed below anyway
        }
        p.destroyForcibly();
        try {
          p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    proxies.forEach(FaultProxy::close);
  }
}
