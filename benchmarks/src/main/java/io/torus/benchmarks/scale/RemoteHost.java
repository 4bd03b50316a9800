package io.torus.benchmarks.scale;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link PeerHost} in a child JVM, driven over its standard input and output: one command a
 * line ({@code start ID...}, {@code ring VERSION}, {@code stats}, {@code storage},
 * {@code used ID}, {@code maps VOLUME}, {@code stop}), one answer a line: {@code ok} followed
 * by numbers, or {@code error MESSAGE}. The child's standard error goes to a log file. The
 * child is killed by its PID if it does not exit after {@code stop}.
 */
final class RemoteHost implements Host {
  private final Process process;
  private final BufferedReader in;
  private final Writer out;
  private boolean stopped;

  RemoteHost(List<String> command, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    this.process = pb.start();
    this.in = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8));
    this.out = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
  }

  long pid() {
    return process.pid();
  }

  private long[] call(String command) throws IOException {
    out.write(command + "\n");
    out.flush();
    String line = in.readLine();
    if (line == null) {
      throw new IOException("peer host " + process.pid() + " exited during '"
          + command.split(" ")[0] + "'");
    }
    if (!line.startsWith("ok")) {
      throw new IOException("peer host " + process.pid() + ": " + line);
    }
    String rest = line.substring(2).trim();
    return rest.isEmpty() ? new long[0]
        : Arrays.stream(rest.split(" ")).mapToLong(Long::parseLong).toArray();
  }

  @Override
  public long start(List<String> ids) throws IOException {
    return call("start " + String.join(" ", ids))[0];
  }

  @Override
  public List<Long> ringSeen(long version) throws IOException {
    List<Long> out = new ArrayList<>();
    for (long v : call("ring " + version)) {
      out.add(v);
    }
    return out;
  }

  @Override
  public long[] stats() throws IOException {
    return call("stats");
  }

  @Override
  public long[] storage() throws IOException {
    return call("storage");
  }

  @Override
  public long used(String id) throws IOException {
    return call("used " + id)[0];
  }

  @Override
  public long[] mapBlocks(long volumeId) throws IOException {
    return call("maps " + volumeId);
  }

  @Override
  public long stop() throws Exception {
    if (stopped) {
      return 0;
    }
    stopped = true;
    long ms = -1;
    try {
      ms = call("stop")[0];
    } finally {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
    return ms;
  }

  /** The child's loop: reads commands until {@code stop} or end of input. */
  static void serve(Host host, InputStream input, PrintStream output) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8));
    String line;
    boolean stopped = false;
    while (!stopped && (line = r.readLine()) != null) {
      String[] w = line.trim().split(" ");
      String answer;
      try {
        answer = switch (w[0]) {
          case "start" -> join(host.start(List.of(w).subList(1, w.length)));
          case "ring" -> join(host.ringSeen(Long.parseLong(w[1])).stream()
              .mapToLong(Long::longValue).toArray());
          case "stats" -> join(host.stats());
          case "storage" -> join(host.storage());
          case "used" -> join(host.used(w[1]));
          case "maps" -> join(host.mapBlocks(Long.parseLong(w[1])));
          case "stop" -> {
            stopped = true;
            yield join(host.stop());
          }
          default -> "error unknown command " + w[0];
        };
      } catch (Exception e) {
        e.printStackTrace();
        answer = "error " + String.valueOf(e).replace('\n', ' ');
      }
      output.println(answer);
      output.flush();
    }
    if (!stopped) {
      host.stop();
    }
    System.exit(0);
  }

  private static String join(long... values) {
    StringBuilder b = new StringBuilder("ok");
    for (long v : values) {
      b.append(' ').append(v);
    }
    return b.toString();
  }
}
