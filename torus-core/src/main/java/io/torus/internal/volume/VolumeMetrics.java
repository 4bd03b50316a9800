package io.torus.internal.volume;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;

/**
 * The meters of one open volume: latency per operation (with a histogram), bytes read and
 * written, errors per operation. Removed from the registry when the volume closes.
 *
 * <pre>
 * torus.volume.latency{volume, mode=rw|ro, op=read|write|flush|discard}  timer
 * torus.volume.bytes{volume, mode, op=read|write}                        counter
 * torus.volume.errors{volume, mode, op}                                   counter
 * torus.volume.commits{volume, mode, to=journal|head}                     counter
 * torus.volume.qos.wait{volume, mode, op=read|write}                      timer
 * torus.volume.qos.limit{volume, mode, limit=read-iops|write-iops|
 *                        read-bytes-per-second|write-bytes-per-second}    gauge (0: none)
 * </pre>
 *
 * <p>{@code torus.volume.qos.wait} times the requests that waited for QoS tokens (a wait is
 * recorded when the request is given it): its total is the time spent throttled, its count the
 * requests that were. {@code torus.volume.qos.limit} is the limit in force on the handle.
 *
 * <p>A flush that commits anything counts one commit: to the flush journal, or to the head
 * (a head commit also follows a journal replay, and comes at least every two seconds, on
 * close and before a snapshot while flushes go to the journal).
 */
public final class VolumeMetrics {
  final Timer read;
  final Timer write;
  final Timer flush;
  final Timer discard;
  final Counter readBytes;
  final Counter writeBytes;
  final Counter journalCommits;
  final Counter headCommits;
  final Timer readQosWait;
  final Timer writeQosWait;
  private final MeterRegistry registry;
  private final String volume;
  private final List<Meter> meters = new ArrayList<>();

  private final String mode;
  private final String node;

  /**
   * Meters for a handle of {@code volume} ({@code mode} {@code rw} or {@code ro}) on node
   * {@code node} (tag {@code node}: several nodes of one process may share a registry).
   */
  public VolumeMetrics(MeterRegistry registry, String node, String volume, String mode) {
    this.registry = registry;
    this.node = node;
    this.volume = volume;
    this.mode = mode;
    this.read = timer("read");
    this.write = timer("write");
    this.flush = timer("flush");
    this.discard = timer("discard");
    this.readBytes = bytes("read");
    this.writeBytes = bytes("write");
    this.journalCommits = commits("journal");
    this.headCommits = commits("head");
    this.readQosWait = qosWait("read");
    this.writeQosWait = qosWait("write");
  }

  private Timer qosWait(String op) {
    Timer t = Timer.builder("torus.volume.qos.wait")
        .description("time requests waited for the volume's QoS tokens")
        .tag("node", node).tag("volume", volume).tag("mode", mode).tag("op", op)
        .register(registry);
    meters.add(t);
    return t;
  }

  /** Publishes the limits {@code qos} gives (read when scraped) as gauges. */
  public void qosLimits(java.util.function.Supplier<io.torus.VolumeQos> qos) {
    limit("read-iops", () -> qos.get().readIops());
    limit("write-iops", () -> qos.get().writeIops());
    limit("read-bytes-per-second", () -> qos.get().readBytesPerSecond());
    limit("write-bytes-per-second", () -> qos.get().writeBytesPerSecond());
  }

  private void limit(String which, java.util.function.LongSupplier value) {
    io.micrometer.core.instrument.Gauge g = io.micrometer.core.instrument.Gauge
        .builder("torus.volume.qos.limit", value, v -> (double) v.getAsLong())
        .description("the volume's QoS limit in force, 0 for none").strongReference(true)
        .tag("node", node).tag("volume", volume).tag("mode", mode).tag("limit", which)
        .register(registry);
    synchronized (meters) {
      meters.add(g);
    }
  }

  private Counter commits(String to) {
    Counter c = Counter.builder("torus.volume.commits")
        .description("flushes committed, to the flush journal or to the head")
        .tag("node", node).tag("volume", volume).tag("mode", mode).tag("to", to)
        .register(registry);
    meters.add(c);
    return c;
  }

  private Timer timer(String op) {
    Timer t = Timer.builder("torus.volume.latency").description("volume operation latency")
        .tag("node", node).tag("volume", volume).tag("mode", mode).tag("op", op).publishPercentileHistogram().register(registry);
    meters.add(t);
    return t;
  }

  private Counter bytes(String op) {
    Counter c = Counter.builder("torus.volume.bytes").baseUnit("bytes")
        .description("bytes read or written").tag("node", node).tag("volume", volume).tag("mode", mode)
        .tag("op", op)
        .register(registry);
    meters.add(c);
    return c;
  }

  /** Counts a failed operation. */
  void error(Timer op) {
    Counter c = Counter.builder("torus.volume.errors").description("failed volume operations")
        .tag("node", node).tag("volume", volume).tag("mode", mode).tag("op", op.getId().getTag("op"))
        .register(registry);
    synchronized (meters) {
      if (!meters.contains(c)) {
        meters.add(c);
      }
    }
    c.increment();
  }

  /** Removes this volume's meters. */
  void close() {
    synchronized (meters) {
      meters.forEach(registry::remove);
      meters.clear();
    }
  }
}
