package io.torus.fault;

import io.torus.BlockVolume;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.fault.FaultChecker.Violation;
import io.torus.fault.History.Op;
import io.torus.testing.cluster.FaultProxy;
import io.torus.testing.etcd.EtcdCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Jepsen-style randomized fault run against a real cluster: a 3-member etcd, 3 peer JVMs
 * (file stores, replication 2) each behind a {@link FaultProxy}, and a writer process driven
 * by a workload of self-identifying block writes ({@link Payload}) and flushes, while faults
 * from a seeded schedule hit peers, links, etcd, stored blocks and the writer itself. After
 * every fault window heals, and at the end, a fresh reader reads every block; the
 * {@link FaultChecker} then checks the whole {@link History}.
 *
 * <p>Used by {@code FaultSuiteIT} (the bounded CI run) and by the long run in
 * {@code benchmarks/} (same code, longer duration, optionally NBD writers). See
 * {@code src-docs/reliability.md}. Every process it starts is killed by PID and every
 * directory deleted in a {@code finally}; every wait is bounded.
 */
public final class FaultSuite {
  /** The kinds of fault the schedule draws from. */
  public enum Fault {
    PEER_KILL(7), PEER_PAUSE(7), PEER_BLACKHOLE(6), PEER_CUT(6), PEER_DELAY(7),
    ETCD_MEMBER_KILL(6), ETCD_LEADER_KILL(6), ETCD_SLOW(6), CORRUPT_BLOCK(3),
    WRITER_PAUSE_TAKEOVER(14), WRITER_KILL_TAKEOVER(11);

    /** Rough seconds a window of this kind takes, healing and verification included. */
    final int cost;

    Fault(int cost) {
      this.cost = cost;
    }
  }

  /**
   * What to run.
   *
   * @param seed the schedule's seed (printed at start; the same seed replays the schedule)
   * @param duration how long to inject faults
   * @param blocks blocks in the volume (4 KiB each)
   * @param out where the history goes on failure
   * @param nbdWriterMain a main class speaking {@link WriterMain}'s protocol through NBD, or
   *     {@code null} for Java API writers only
   * @param erasure the volume's erasure coding ({@code 2+1} fits the three peers: one lost
   *     peer tolerated, as with replication 2), or {@code null} for replication 2
   */
  public record Config(long seed, Duration duration, int blocks, Path out, String nbdWriterMain,
      io.torus.Erasure erasure) {

    /** A run on a replicated volume. */
    public Config(long seed, Duration duration, int blocks, Path out, String nbdWriterMain) {
      this(seed, duration, blocks, out, nbdWriterMain, null);
    }

    /** This run on a volume with {@code e}'s erasure coding. */
    public Config withErasure(io.torus.Erasure e) {
      return new Config(seed, duration, blocks, out, nbdWriterMain, e);
    }

    /** From {@code torus.fault.seed}, {@code torus.fault.duration} (ISO-8601 or seconds). */
    public static Config fromSystemProperties(Duration defaultDuration, Path out,
        String nbdWriterMain) {
      String s = System.getProperty("torus.fault.seed");
      long seed = s != null && !s.isBlank() ? Long.parseLong(s.trim()) : System.nanoTime();
      String d = System.getProperty("torus.fault.duration");
      Duration dur = defaultDuration;
      if (d != null && !d.isBlank()) {
        d = d.trim();
        dur = d.startsWith("P") ? Duration.parse(d) : d.endsWith("m")
            ? Duration.ofMinutes(Long.parseLong(d.substring(0, d.length() - 1)))
            : Duration.ofSeconds(Long.parseLong(d.endsWith("s") ? d.substring(0, d.length() - 1)
            : d));
      }
      int blocks = Integer.getInteger("torus.fault.blocks", 32);
      String e = System.getProperty("torus.fault.erasure");
      return new Config(seed, dur, blocks, out, nbdWriterMain,
          e == null || e.isBlank() ? null : io.torus.Erasure.parse(e.trim()));
    }
  }

  /** What a run did. */
  public record Figures(long seed, Duration faultTime, Duration total, int sessions,
      int nbdSessions, long writes, long writesOk, long writesFailed, long writesUnknown,
      long flushes, long flushesOk, long flushesFailed, long flushesUnknown, long reads,
      Map<Fault, Integer> faults, int selfFenced, String finalFlush, String recovery,
      List<Violation> violations, Path history) {
    long lostAcked() {
      return violations.stream().filter(v -> v.kind() == FaultChecker.Kind.LOST_ACKED).count();
    }

    /** A one-line summary (also a row of the figures table). */
    public String summary() {
      return "seed=" + seed + " faults=" + faultTime.toSeconds() + "s total=" + total.toSeconds()
          + "s sessions=" + sessions + " (nbd " + nbdSessions + ") writes=" + writes + " (ok "
          + writesOk + ", failed " + writesFailed + ", unknown " + writesUnknown + ") flushes="
          + flushes + " (ok " + flushesOk + ", failed " + flushesFailed + ", unknown "
          + flushesUnknown + ") verification reads=" + reads + " faults=" + faults
          + " writersFencedWithoutTakeover=" + selfFenced + " finalFlush=" + finalFlush
          + " lostAcked=" + lostAcked() + " violations=" + violations.size();
    }
  }

  static final int BLOCK_SIZE = 4096;
  static final String VOLUME = "fv";
  private static final long OP_TIMEOUT_MS = 4000;
  private static final long OPEN_TIMEOUT_S = 75;
  /** The shortest pause of a writer before a takeover: past its lease TTL with margin. */
  private static final long MIN_WRITER_PAUSE_MS = WriterMain.LEASE_TTL.toMillis() + 1500;
  private static final List<String> CHILD_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:CICompilerCount=1");

  private final Config config;
  private final Random rnd;
  private final History history = new History(System.nanoTime());
  private final AtomicLong ops = new AtomicLong();
  private final Map<Fault, Integer> faultCounts = new EnumMap<>(Fault.class);
  private final List<Fault> deck = new ArrayList<>();
  private final boolean[] etcdPaused = new boolean[3];
  private Path base;
  private EtcdCluster etcd;
  private FaultPeers peers;
  private EtcdProbe probe;
  private String prefix;
  private long volumeId;
  private volatile WriterProcess current;
  private final List<WriterProcess> writers = new ArrayList<>();
  private int nextWriter = 1;
  private int nbdSessions;
  private int selfFenced;
  private String finalFlush = "not run";
  private String recovery;
  private volatile boolean stop;
  private Thread workload;

  private FaultSuite(Config config) {
    this.config = config;
    this.rnd = new Random(config.seed());
  }

  /** Runs the suite; returns its figures (check {@link Figures#violations()}). */
  public static Figures run(Config config) throws Exception {
    return new FaultSuite(config).run();
  }

  private void say(String s) {
    System.out.println("FaultSuite " + s);
    System.out.flush();
    history.note(System.nanoTime(), s);
  }

  private Figures run() throws Exception {
    long t0 = System.nanoTime();
    say("seed=" + config.seed() + " duration=" + config.duration() + " blocks="
        + config.blocks() + " source " + source() + " (replay: -Dtorus.fault.seed="
        + config.seed() + ")");
    List<Violation> violations = new ArrayList<>();
    Throwable failure = null;
    long faultNanos = 0;
    try {
      setUp();
      long f0 = System.nanoTime();
      long end = f0 + config.duration().toNanos();
      int window = 0;
      while (System.nanoTime() < end) {
        long left = (end - System.nanoTime()) / 1_000_000_000L;
        Fault f = draw(left);
        if (f == null) {
          break;
        }
        window++;
        runWindow(window, f);
        healAll();
        replaceWriterIfNeeded();
        verify("after-" + window + "-" + f);
      }
      faultNanos = System.nanoTime() - f0;
      finish();
      violations.addAll(new FaultChecker(history, volumeId).check());
    } catch (Throwable e) {
      failure = e;
      history.note(System.nanoTime(), "run failed: " + e);
    } finally {
      boolean keep = failure != null || !violations.isEmpty() || recovery != null
          || "always".equals(System.getProperty("torus.fault.dump"));
      tearDown(keep ? config.out().resolve("fault-logs-" + config.seed()) : null);
    }
    Path file = config.out().resolve("fault-history-" + config.seed() + ".txt");
    Figures fig = figures(Duration.ofNanos(faultNanos), Duration.ofNanos(System.nanoTime() - t0),
        violations, file);
    say(fig.summary());
    boolean always = "always".equals(System.getProperty("torus.fault.dump"));
    if (failure != null || !violations.isEmpty() || recovery != null || always) {
      List<String> header = new ArrayList<>();
      header.add("FaultSuite seed=" + config.seed() + " duration=" + config.duration()
          + " source: " + source());
      header.add(fig.summary());
      if (failure != null) {
        header.add("run failed: " + failure);
      }
      for (Violation v : violations) {
        header.add("VIOLATION " + v);
      }
      if (recovery != null) {
        header.add("NO RECOVERY " + recovery);
      }
      history.dump(file, header);
      say("history written to " + file.toAbsolutePath() + " (" + readValues() + ")");
      for (Violation v : violations.subList(0, Math.min(5, violations.size()))) {
        say("VIOLATION " + v);
        for (String l : excerpt(v)) {
          System.out.println("    " + l);
        }
      }
    }
    if (failure instanceof Exception e) {
      throw e;
    } else if (failure instanceof Error e) {
      throw e;
    }
    return fig;
  }

  /** The source tree the run used: {@code git describe --always --dirty}, bounded. */
  private static String source() {
    try {
      Process p = new ProcessBuilder("git", "describe", "--always", "--dirty")
          .redirectErrorStream(true).start();
      if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "(git timed out)";
      }
      return new String(p.getInputStream().readAllBytes()).trim();
    } catch (IOException e) {
      return "(no git)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(interrupted)";
    }
  }

  private String readValues() {
    int zero = 0;
    int written = 0;
    int other = 0;
    for (History.Read r : history.reads()) {
      if (r.value() instanceof Payload.Zero) {
        zero++;
      } else if (r.value() instanceof Payload.Written) {
        written++;
      } else {
        other++;
      }
    }
    return "reads: " + written + " payloads, " + zero + " zeros, " + other + " other";
  }

  private List<String> excerpt(Violation v) {
    List<String> lines = v.block() >= 0 ? history.excerpt(v.block(), v.tokens())
        : history.excerpt(-1, v.tokens());
    return lines.subList(Math.max(0, lines.size() - 40), lines.size());
  }

  // ---- set-up and tear-down ----

  private void setUp() throws Exception {
    base = Files.createTempDirectory("torus-fault-");
    etcd = EtcdCluster.builder().members(3).build();
    etcd.start();
    prefix = "/fault";
    probe = new EtcdProbe(etcd.endpoints(), prefix);
    say("etcd up: " + etcd.endpoints());
    peers = new FaultPeers(String.join(",", etcd.endpoints()), prefix, 3, CHILD_JVM, base);
    say("3 peers up behind proxies " + peers.proxy(0).port() + ", " + peers.proxy(1).port()
        + ", " + peers.proxy(2).port());
    try (Torus admin = clientNode()) {
      awaitRing(admin.cluster());
      VolumeSpec.Builder spec = VolumeSpec.builder(VOLUME, (long) config.blocks() * BLOCK_SIZE)
          .blockSize(BLOCK_SIZE);
      VolumeInfo info = admin.createVolume((config.erasure() == null ? spec.replication(2)
          : spec.erasure(config.erasure())).build());
      say("volume: " + (config.erasure() == null ? "replication 2"
          : "erasure " + config.erasure()));
      volumeId = info.id();
    }
    probe.volumeId(volumeId);
    current = startWriter();
    workload = new Thread(this::workload, "fault-workload");
    workload.setDaemon(true);
    workload.start();
    sleep(2000);
  }

  private void awaitRing(ClusterAdmin c) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      var ring = c.ring();
      var rep = c.replication();
      if (ring.isPresent() && ring.get().members().size() == 3
          && (rep.isEmpty() || !rep.get().inTransition())) {
        say("ring settled: version " + ring.get().version());
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the ring did not reach 3 members within 60 s");
  }

  private Torus clientNode() {
    return Torus.builder().etcd(etcd.endpoints()).etcdPrefix(prefix).peer(false)
        .ioTimeout(Duration.ofSeconds(3)).peerTimeout(Duration.ofSeconds(2)).build();
  }

  private void tearDown(Path keepLogs) {
    stop = true;
    if (workload != null) {
      try {
        workload.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (WriterProcess w : writers) {
      w.close();
    }
    if (peers != null) {
      peers.close();
    }
    if (etcd != null) {
      etcd.close();
    }
    if (keepLogs != null && base != null) {
      copyLogs(keepLogs);
    }
    deleteTree(base);
  }

  private void copyLogs(Path to) {
    try (var s = Files.walk(base)) {
      for (Path p : (Iterable<Path>) s.filter(f -> f.toString().endsWith(".log"))::iterator) {
        Path dst = to.resolve(base.relativize(p).toString().replace('/', '_'));
        Files.createDirectories(to);
        Files.copy(p, dst, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      System.out.println("FaultSuite could not keep the logs: " + e);
    }
  }

  private static void deleteTree(Path dir) {
    if (dir == null) {
      return;
    }
    try (var s = Files.walk(dir)) {
      s.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }

  // ---- writers and the workload ----

  private WriterProcess startWriter() throws Exception {
    int id = nextWriter++;
    boolean nbd = config.nbdWriterMain() != null && rnd.nextBoolean();
    String main = nbd ? config.nbdWriterMain() : WriterMain.class.getName();
    WriterProcess w = new WriterProcess(history, id, nbd ? "nbd" : "java", main, CHILD_JVM,
        List.of(String.join(",", etcd.endpoints()), prefix, VOLUME, Integer.toString(id),
            Long.toString(OPEN_TIMEOUT_S - 5)), base.resolve("writer-" + id + ".log"));
    writers.add(w);
    if (nbd) {
      nbdSessions++;
    }
    long t = System.nanoTime();
    w.awaitOpen(OPEN_TIMEOUT_S, probe);
    say("writer w" + id + " (" + w.kind + ", pid " + w.pid() + ") opened the volume in "
        + (System.nanoTime() - t) / 1_000_000 + " ms, epoch " + w.session.epoch);
    return w;
  }

  private void workload() {
    Random r = new Random(config.seed() * 31 + 7);
    while (!stop) {
      WriterProcess w = current;
      if (w == null || !w.alive()) {
        sleep(20);
        continue;
      }
      long op = ops.incrementAndGet();
      double x = r.nextDouble();
      if (x < 0.2) {
        w.flush(op, OP_TIMEOUT_MS);
      } else {
        w.write(op, r.nextInt(config.blocks()), "nbd".equals(w.kind) && x > 0.95,
            OP_TIMEOUT_MS);
      }
      sleep(2);
    }
  }

  private void replaceWriterIfNeeded() throws Exception {
    WriterProcess w = current;
    if (w.alive() && w.fencedReplies() < 3) {
      return;
    }
    selfFenced += w.alive() ? 1 : 0;
    say("writer w" + w.writer + (w.alive() ? " is fenced (" + w.fencedReplies()
        + " fenced replies)" : " died") + ": replacing it");
    current = null;
    w.close();
    current = startWriter();
  }

  // ---- the schedule ----

  private Fault draw(long secondsLeft) {
    for (int tries = 0; tries < 30; tries++) {
      if (deck.isEmpty()) {
        Collections.addAll(deck, Fault.values());
        Collections.shuffle(deck, rnd);
      }
      Fault f = deck.remove(0);
      if (f.cost <= secondsLeft + 3) {
        return f;
      }
      if (secondsLeft < 5) {
        return null;
      }
    }
    return null;
  }

  private void runWindow(int n, Fault f) throws Exception {
    faultCounts.merge(f, 1, Integer::sum);
    long start = System.nanoTime();
    String target;
    String detail = "";
    switch (f) {
      case PEER_KILL -> {
        int i = rnd.nextInt(3);
        target = "peer " + i;
        peers.kill(i);
        long hold = 1500 + rnd.nextInt(3500);
        sleep(hold);
        peers.restart(i);
        detail = "down " + hold + " ms";
      }
      case PEER_PAUSE -> {
        int i = rnd.nextInt(3);
        target = "peer " + i;
        long hold = rnd.nextInt(5) == 0 ? 11_000 + rnd.nextInt(2000) : 1000 + rnd.nextInt(3000);
        peers.pause(i);
        sleep(hold);
        peers.resume(i);
        detail = "SIGSTOP " + hold + " ms";
      }
      case PEER_BLACKHOLE, PEER_CUT -> {
        int i = rnd.nextInt(3);
        target = "links to peer " + i;
        long hold = 1500 + rnd.nextInt(3500);
        peers.proxy(i).mode(f == Fault.PEER_BLACKHOLE ? FaultProxy.Mode.BLACKHOLE
            : FaultProxy.Mode.CUT);
        sleep(hold);
        peers.proxy(i).mode(FaultProxy.Mode.CUT); // a stalled TCP stream ends; none resumes
        peers.proxy(i).mode(FaultProxy.Mode.PASS); // with bytes missing
        detail = hold + " ms";
      }
      case PEER_DELAY -> {
        int i = rnd.nextInt(3);
        target = "links to peer " + i;
        long delay = 20 + rnd.nextInt(400);
        long hold = 2000 + rnd.nextInt(4000);
        peers.proxy(i).delayMillis(delay);
        peers.proxy(i).mode(FaultProxy.Mode.DELAY);
        sleep(hold);
        peers.proxy(i).mode(FaultProxy.Mode.PASS);
        detail = delay + " ms per chunk for " + hold + " ms";
      }
      case ETCD_MEMBER_KILL, ETCD_LEADER_KILL -> {
        int leader = probe.leader();
        int i = f == Fault.ETCD_LEADER_KILL && leader >= 0 ? leader : rnd.nextInt(3);
        target = "etcd m" + i + (i == leader ? " (leader)" : "");
        etcd.kill(i);
        long hold = 1000 + rnd.nextInt(3000);
        sleep(hold);
        etcd.restart(i);
        detail = "down " + hold + " ms";
      }
      case ETCD_SLOW -> {
        boolean all = rnd.nextInt(3) == 0;
        int spare = rnd.nextInt(3);
        target = all ? "all etcd members" : "etcd members except m" + spare;
        for (int i = 0; i < 3; i++) {
          if (all || i != spare) {
            etcd.pause(i);
            etcdPaused[i] = true;
          }
        }
        long hold = 1500 + rnd.nextInt(3500);
        sleep(hold);
        for (int i = 0; i < 3; i++) {
          if (etcdPaused[i]) {
            etcd.resume(i);
            etcdPaused[i] = false;
          }
        }
        detail = "SIGSTOP " + hold + " ms (no quorum)";
      }
      case CORRUPT_BLOCK -> {
        target = "a stored block";
        detail = corruptOne();
      }
      case WRITER_PAUSE_TAKEOVER -> {
        WriterProcess old = current;
        target = "writer w" + old.writer;
        old.pause();
        long pausedAt = System.nanoTime();
        say("window " + n + ": paused w" + old.writer + "; starting a takeover writer");
        WriterProcess next = startWriter();
        current = next;
        long tookOver = (System.nanoTime() - pausedAt) / 1_000_000;
        // Resumed 1.5-3 s after the takeover, and in any case well past the old lease's TTL.
        long after = 1500 + rnd.nextInt(1500);
        sleep(Math.max(after, MIN_WRITER_PAUSE_MS - tookOver));
        old.resume();
        detail = "SIGSTOP " + (System.nanoTime() - pausedAt) / 1_000_000 + " ms (w"
            + next.writer + " took over after " + tookOver + " ms), then probes";
        probeStale(old);
        old.close();
      }
      case WRITER_KILL_TAKEOVER -> {
        WriterProcess old = current;
        target = "writer w" + old.writer;
        current = null;
        old.close();
        say("window " + n + ": killed w" + old.writer + "; starting a takeover writer");
        current = startWriter();
        detail = "kill -9, then w" + current.writer + " took over";
      }
      default -> throw new IllegalStateException(f.toString());
    }
    long end = System.nanoTime();
    history.fault(new History.Fault(f.toString(), target, start, end, detail));
    say("window " + n + ": " + f + " " + target + " " + detail + " ("
        + (end - start) / 1_000_000 + " ms)");
  }

  /** The paused writer woke up after a takeover: its flushes and writes must not succeed. */
  private void probeStale(WriterProcess old) {
    long op1 = ops.incrementAndGet();
    Op f1 = old.flush(op1, 10_000);
    Op w = old.write(ops.incrementAndGet(), rnd.nextInt(config.blocks()), false, 10_000);
    Op f2 = old.flush(ops.incrementAndGet(), 10_000);
    say("stale w" + old.writer + " after resume: " + f1.outcome + " " + f1.error + " / write "
        + w.outcome + " " + w.error + " / flush " + f2.outcome + " " + f2.error);
  }

  private String corruptOne() throws IOException {
    Op target = null;
    List<Op> all = history.ops();
    for (int k = all.size() - 1; k >= 0 && target == null; k--) {
      Op o = all.get(k);
      if (!o.flush && o.outcome == History.Outcome.OK) {
        for (int j = k + 1; j < all.size(); j++) {
          Op f = all.get(j);
          if (f.flush && f.writer == o.writer && f.outcome == History.Outcome.OK) {
            target = o;
            break;
          }
        }
      }
    }
    if (target == null) {
      return "no durable write yet";
    }
    byte[] want = Payload.encode(BLOCK_SIZE, volumeId, target.block, target.writer, target.op);
    byte[] needle = java.util.Arrays.copyOf(want, 64);
    List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
    Collections.shuffle(order, rnd);
    for (int i : order) {
      String hit = Corrupter.flipFirst(peers.dir(i).resolve("data"), needle, 100);
      if (hit != null) {
        return "w" + target.writer + "/op" + target.op + " block " + target.block
            + ": one copy on peer " + i + " (" + hit + ")";
      }
    }
    return "no stored copy of w" + target.writer + "/op" + target.op + " found";
  }

  // ---- healing and verification ----

  private void healAll() throws Exception {
    for (int i = 0; i < 3; i++) {
      if (etcdPaused[i]) {
        etcd.resume(i);
        etcdPaused[i] = false;
      }
      if (etcd.pid(i) < 0) {
        etcd.restart(i);
      }
    }
    for (int i = 0; i < peers.size(); i++) {
      peers.heal(i);
    }
    WriterProcess w = current;
    if (w != null && w.paused()) {
      w.resume();
    }
  }

  /** Reads every block through a fresh read-only handle of a fresh client node, bounded. */
  private void verify(String phase) {
    long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
    List<Integer> left = new ArrayList<>();
    for (int b = 0; b < config.blocks(); b++) {
      left.add(b);
    }
    String lastError = null;
    int attempts = 0;
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      attempts++;
      try (Torus node = clientNode()) {
        long os = System.nanoTime();
        try (BlockVolume v = node.openVolumeReadOnly(VOLUME)) {
          long oe = System.nanoTime();
          while (!left.isEmpty()) {
            int b = left.get(0);
            ByteBuffer buf = ByteBuffer.allocate(BLOCK_SIZE);
            v.read((long) b * BLOCK_SIZE, buf);
            history.read(new History.Read(phase, b, os, oe, System.nanoTime(),
                Payload.decode(buf.array(), volumeId, b), null));
            left.remove(0);
          }
        }
      } catch (RuntimeException e) {
        lastError = e.toString();
        history.note(System.nanoTime(), "verify " + phase + " attempt " + attempts + ": " + e);
        sleep(500);
      }
    }
    for (int b : left) {
      long now = System.nanoTime();
      history.read(new History.Read(phase, b, now, now, now, null, lastError));
    }
    if (attempts > 1 || !left.isEmpty()) {
      say("verify " + phase + ": " + attempts + " attempts, " + left.size() + " blocks unread");
    }
  }

  /**
   * Stops the workload, heals everything, then insists on recovery: a flush must succeed
   * within 30 s (retried every second; a fenced writer is replaced), then the final read.
   */
  private void finish() throws Exception {
    stop = true;
    workload.join(15_000);
    healAll();
    long healed = System.nanoTime();
    long deadline = healed + Duration.ofSeconds(30).toNanos();
    int tries = 0;
    Op f;
    do {
      if (tries++ > 0) {
        sleep(1000);
      }
      replaceWriterIfNeeded();
      f = current.flush(ops.incrementAndGet(), 10_000);
    } while (f.outcome != History.Outcome.OK && System.nanoTime() < deadline);
    long ms = (System.nanoTime() - healed) / 1_000_000;
    finalFlush = f.outcome == History.Outcome.OK ? "OK after " + ms + " ms (" + tries
        + " tries)" : "NONE in " + ms + " ms (" + tries + " tries, last: " + f.error + ")";
    say("final flush of w" + current.writer + " after healing: " + finalFlush);
    if (f.outcome != History.Outcome.OK) {
      recovery = "no flush succeeded within 30 s after every fault had healed: " + f.error;
    }
    verify("final");
  }

  private Figures figures(Duration faultTime, Duration total, List<Violation> v, Path file) {
    long writes = 0;
    long wOk = 0;
    long wFail = 0;
    long flushes = 0;
    long fOk = 0;
    long fFail = 0;
    for (Op o : history.ops()) {
      if (o.flush) {
        flushes++;
        fOk += o.outcome == History.Outcome.OK ? 1 : 0;
        fFail += o.outcome == History.Outcome.FAIL ? 1 : 0;
      } else {
        writes++;
        wOk += o.outcome == History.Outcome.OK ? 1 : 0;
        wFail += o.outcome == History.Outcome.FAIL ? 1 : 0;
      }
    }
    return new Figures(config.seed(), faultTime, total, history.sessions().size(), nbdSessions,
        writes, wOk, wFail, writes - wOk - wFail, flushes, fOk, fFail, flushes - fOk - fFail,
        history.reads().size(), new TreeMap<>(faultCounts), selfFenced, finalFlush, recovery,
        List.copyOf(v), file);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
