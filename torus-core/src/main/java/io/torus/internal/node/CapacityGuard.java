package io.torus.internal.node;

import io.torus.ClusterAdmin.Capacity;
import io.torus.ClusterAdmin.Defaults;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.internal.storage.RateLimitedLog;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's capacity guard: refuses (ENOSPC) a volume creation or growth that would make the
 * cluster's volumes provision more than the overcommit ratio times the raw capacity of its
 * peers, and warns when the space they hold passes a share of that capacity.
 *
 * <p><b>Figures.</b> Raw and used bytes come from the node's live view (the peers up, as they
 * registered; a local node's own stores): no metadata read. Provisioned bytes are read at
 * each check: every volume's size times its copies, an erasure-coded one's times (k+m)/k,
 * summed in floating point (no overflow). With no capacity known (no peer up) nothing can be
 * judged and every change is let through.
 *
 * <p><b>Ratio.</b> The node's own ({@code TorusBuilder.overcommitRatio}) if it was given one,
 * else the cluster's defaults ({@link Defaults#overcommitRatio()}), else
 * {@link Defaults#DEFAULT_OVERCOMMIT_RATIO}; 0 turns the check off.
 *
 * <p><b>Concurrency.</b> Thread-safe and stateless but for the rate-limited log. A check is
 * not a reservation: nodes creating volumes at the same moment may together pass the limit.
 *
 * <p><b>Failure.</b> A check whose figures cannot be read (metadata unreachable) throws that
 * error: the change is not made.
 */
final class CapacityGuard {
  private static final Logger log = LoggerFactory.getLogger(CapacityGuard.class);
  /** At most one warning per node this often. */
  static final Duration WARN_INTERVAL = Duration.ofMinutes(10);

  private final Supplier<java.util.List<VolumeInfo>> volumes;
  private final LongSupplier raw;
  private final LongSupplier used;
  private final Supplier<Optional<Defaults>> defaults;
  private final double ratio;
  private final double warnRatio;
  private final RateLimitedLog warnings;
  private final String nodeId;
  private final String rawOf;

  /**
   * @param rawOf what the raw capacity is of, for messages: "the peers up" or "this node's
   *     stores"
   * @param volumes every volume of the cluster (a metadata read)
   * @param raw the raw capacity now, bytes
   * @param used the bytes held now
   * @param defaults the cluster's defaults, if any
   * @param ratio the node's own overcommit ratio, or NaN to take the cluster's
   * @param warnRatio the used share to warn past, 0 for never
   * @param nanoTime the clock of the warnings' rate limit
   */
  CapacityGuard(String nodeId, String rawOf, Supplier<java.util.List<VolumeInfo>> volumes,
      LongSupplier raw,
      LongSupplier used, Supplier<Optional<Defaults>> defaults, double ratio,
      double warnRatio, LongSupplier nanoTime) {
    this.nodeId = nodeId;
    this.rawOf = rawOf;
    this.volumes = volumes;
    this.raw = raw;
    this.used = used;
    this.defaults = defaults;
    this.ratio = ratio;
    this.warnRatio = warnRatio;
    this.warnings = new RateLimitedLog(log, WARN_INTERVAL, nanoTime);
  }

  /** Bytes {@code size} bytes of {@code v}'s layout provision: its copies, or (k+m)/k. */
  static double footprint(VolumeInfo v, long size) {
    return footprint(v.replication(), v.erasure(), size);
  }

  static double footprint(int replication, io.torus.Erasure erasure, long size) {
    return erasure != null ? size * erasure.overhead() : (double) size * replication;
  }

  /** The ratio in force (reads the cluster's defaults unless the node has its own). */
  double ratio() {
    return Double.isNaN(ratio) ? defaults.get().map(Defaults::overcommitRatio)
        .orElse(Defaults.DEFAULT_OVERCOMMIT_RATIO) : ratio;
  }

  /** The space now. */
  Capacity capacity() {
    double provisioned = 0;
    for (VolumeInfo v : volumes.get()) {
      provisioned += footprint(v, v.size());
    }
    return new Capacity(raw.getAsLong(), used.getAsLong(), clamp(provisioned), ratio(),
        warnRatio);
  }

  /**
   * Throws ENOSPC unless the volumes may provision {@code extra} more bytes, naming
   * {@code what} (e.g. "creating volume 'v' (1 GiB, 2 copies)").
   */
  void check(String what, double extra) {
    double r = ratio();
    long rawBytes = raw.getAsLong();
    if (r == 0 || rawBytes == 0 || extra <= 0) {
      return;
    }
    double provisioned = 0;
    for (VolumeInfo v : volumes.get()) {
      provisioned += footprint(v, v.size());
    }
    double limit = r * rawBytes;
    if (provisioned + extra > limit) {
      throw new TorusException(ErrorCode.ENOSPC, String.format(Locale.ROOT,
          "%s refused: it provisions %s, the volumes already %s, together %s, past the"
          + " limit of %s = overcommit ratio %s x the raw capacity of %s, %s; delete or"
          + " shrink volumes, add capacity, or raise the ratio (torus init --force"
          + " --overcommit R, TorusBuilder.overcommitRatio; 0 turns the check off)", what,
          bytes(extra), bytes(provisioned), bytes(provisioned + extra), bytes(limit), number(r),
          rawOf, bytes(rawBytes)));
    }
  }

  /**
   * Warns (at most once per {@link #WARN_INTERVAL}) if the used share passed the ratio;
   * returns whether it logged.
   */
  boolean checkUsage() {
    long rawBytes = raw.getAsLong();
    long usedBytes = used.getAsLong();
    Capacity c = new Capacity(rawBytes, usedBytes, 0, 0, warnRatio);
    if (c.nearlyFull()) {
      return warnings.warn("used", "node {}: the space of {} is {} % used ({} of {}), past"
          + " the warning threshold of {} %; add capacity or delete data", nodeId, rawOf,
          String.format(Locale.ROOT, "%.1f", 100 * c.usedRatio()), bytes(usedBytes),
          bytes(rawBytes), number(100 * warnRatio));
    }
    return false;
  }

  /** The used share of the raw capacity now (a gauge). */
  double usedRatio() {
    return new Capacity(raw.getAsLong(), used.getAsLong(), 0, 0, warnRatio).usedRatio();
  }

  /** 1 while the used share is past the warning ratio, else 0 (a gauge). */
  double warning() {
    return new Capacity(raw.getAsLong(), used.getAsLong(), 0, 0, warnRatio).nearlyFull()
        ? 1 : 0;
  }

  private static long clamp(double bytes) {
    return bytes >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) bytes;
  }

  /** {@code 1073741824 bytes (1.0 GiB)}. */
  static String bytes(double n) {
    long b = clamp(n);
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = b;
    int u = 0;
    while (u < units.length - 1 && v >= 1024) {
      v /= 1024;
      u++;
    }
    return u == 0 ? b + " bytes" : String.format(Locale.ROOT, "%d bytes (%.1f %s)", b, v,
        units[u]);
  }

  private static String number(double r) {
    return r == Math.rint(r) ? Long.toString((long) r) : String.format(Locale.ROOT, "%s", r);
  }
}
