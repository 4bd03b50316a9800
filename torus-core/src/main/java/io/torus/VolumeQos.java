package io.torus;

import java.time.Duration;
import java.util.Objects;

/**
 * The quality-of-service limits of a volume: how many requests and bytes per second a handle
 * of it may serve, for reads and for writes separately, each with a burst. 0 means no limit.
 * Validated on construction: limits that exist are valid ones. Immutable.
 *
 * <p><b>What is limited.</b> The limits hold per open handle, on the node that has it open
 * (one writer per volume in the cluster, so for a writer they are the volume's limits; each
 * read-only handle and each open snapshot of the volume applies them to itself as well). A
 * read counts one read request and its length in read bytes; a write one write request and
 * its length in write bytes; a trim or a write of zeroes one write request and no bytes (it
 * moves no data: only map entries change). Flushes are not limited.
 *
 * <p><b>How.</b> Each limit is a token bucket that refills at its rate and holds
 * {@code rate × burst} tokens; an idle volume may thus go a burst's worth faster for a
 * moment. A request takes its tokens and, if the bucket went below zero, waits until the
 * debt is paid: never refused for being over a limit, and a request larger than the bucket
 * still proceeds after its wait. Over any period T the requests admitted are at most
 * {@code rate × (T + burst)}.
 *
 * @param readIops read requests per second, 0 for no limit
 * @param writeIops write, trim and zero requests per second, 0 for no limit
 * @param readBytesPerSecond bytes read per second, 0 for no limit
 * @param writeBytesPerSecond bytes written per second, 0 for no limit
 * @param burst how long each bucket's tokens last at its rate: whole milliseconds from 1 ms
 *     to {@link #MAX_BURST}; default {@link #DEFAULT_BURST}
 */
public record VolumeQos(long readIops, long writeIops, long readBytesPerSecond,
    long writeBytesPerSecond, Duration burst) {

  /** The default burst: one second of each limit. */
  public static final Duration DEFAULT_BURST = Duration.ofSeconds(1);
  /** The longest burst. */
  public static final Duration MAX_BURST = Duration.ofHours(1);
  /** The largest limit: 2^50 requests or bytes per second (1 PiB/s). */
  public static final long MAX_LIMIT = 1L << 50;
  /** No limits: what a volume created without any has. */
  public static final VolumeQos UNLIMITED = new VolumeQos(0, 0, 0, 0, DEFAULT_BURST);

  public VolumeQos {
    check("readIops", readIops);
    check("writeIops", writeIops);
    check("readBytesPerSecond", readBytesPerSecond);
    check("writeBytesPerSecond", writeBytesPerSecond);
    Objects.requireNonNull(burst, "burst");
    if (burst.compareTo(Duration.ofMillis(1)) < 0 || burst.compareTo(MAX_BURST) > 0
        || burst.toNanos() % 1_000_000 != 0) {
      throw TorusException.invalid("QoS burst must be whole milliseconds from 1 ms to "
          + MAX_BURST.toHours() + " h: " + burst);
    }
  }

  /** Limits with the default burst ({@link #DEFAULT_BURST}). */
  public VolumeQos(long readIops, long writeIops, long readBytesPerSecond,
      long writeBytesPerSecond) {
    this(readIops, writeIops, readBytesPerSecond, writeBytesPerSecond, DEFAULT_BURST);
  }

  private static void check(String what, long limit) {
    if (limit < 0 || limit > MAX_LIMIT) {
      throw TorusException.invalid("QoS " + what + " must be 0 (no limit) to 2^50: " + limit);
    }
  }

  /** Whether no limit is set (every rate 0; the burst then means nothing). */
  public boolean unlimited() {
    return readIops == 0 && writeIops == 0 && readBytesPerSecond == 0
        && writeBytesPerSecond == 0;
  }

  /** A builder starting from no limits and the default burst. */
  public static Builder builder() {
    return new Builder(UNLIMITED);
  }

  /** A builder starting from these limits (to change some of them). */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * The limits as one line for people, e.g. {@code read 500 IOPS 100 MiB/s, write unlimited,
   * burst 1 s} or {@code unlimited}.
   */
  public String describe() {
    if (unlimited()) {
      return "unlimited";
    }
    return "read " + side(readIops, readBytesPerSecond) + ", write "
        + side(writeIops, writeBytesPerSecond) + ", burst " + burstText();
  }

  private static String side(long iops, long bps) {
    if (iops == 0 && bps == 0) {
      return "unlimited";
    }
    return (iops == 0 ? "" : iops + " IOPS") + (iops != 0 && bps != 0 ? " " : "")
        + (bps == 0 ? "" : bytes(bps) + "/s");
  }

  private String burstText() {
    long ms = burst.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
  }

  private static String bytes(long n) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    long v = n;
    while (u < units.length - 1 && v >= 1024 && v % 1024 == 0) {
      v /= 1024;
      u++;
    }
    return v + " " + units[u];
  }

  /** Builds a {@link VolumeQos}. Not thread-safe. */
  public static final class Builder {
    private long readIops;
    private long writeIops;
    private long readBytesPerSecond;
    private long writeBytesPerSecond;
    private Duration burst;

    private Builder(VolumeQos from) {
      this.readIops = from.readIops;
      this.writeIops = from.writeIops;
      this.readBytesPerSecond = from.readBytesPerSecond;
      this.writeBytesPerSecond = from.writeBytesPerSecond;
      this.burst = from.burst;
    }

    /** Read requests per second; 0: no limit. */
    public Builder readIops(long iops) {
      this.readIops = iops;
      return this;
    }

    /** Write, trim and zero requests per second; 0: no limit. */
    public Builder writeIops(long iops) {
      this.writeIops = iops;
      return this;
    }

    /** Bytes read per second; 0: no limit. */
    public Builder readBytesPerSecond(long bytes) {
      this.readBytesPerSecond = bytes;
      return this;
    }

    /** Bytes written per second; 0: no limit. */
    public Builder writeBytesPerSecond(long bytes) {
      this.writeBytesPerSecond = bytes;
      return this;
    }

    /** How long each bucket's tokens last at its rate (see {@link VolumeQos#burst()}). */
    public Builder burst(Duration burst) {
      this.burst = burst;
      return this;
    }

    /** The limits; throws {@link TorusException} (EINVAL) for a bad value. */
    public VolumeQos build() {
      return new VolumeQos(readIops, writeIops, readBytesPerSecond, writeBytesPerSecond,
          burst);
    }
  }
}
